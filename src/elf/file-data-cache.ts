/**
 * Data derived from files (unwind tables, symbol tables), kept on disk so a
 * binary seen once is not parsed again, across restarts too. One file per
 * entry, named after the hash of its key (the GNU build-id, else the file's
 * key and stamp), in a directory the agent's user owns and nobody else can
 * write. Files are written under a random O_EXCL temp name and renamed, and
 * checked on read (magic, version, lengths, the key, a CRC-32): a corrupt or
 * truncated file is ignored and the data derived again, never trusted. The
 * directory is bounded in bytes over every kind of entry; the least
 * recently used files (by mtime, touched on each hit) go first.
 *
 *   0  magic  4  u32 version  8  u32 key length  12 u32 meta length
 *  16  u32 payload length  20  u32 crc32 of what follows  24  key, meta JSON, payload
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, renameSync, statSync, unlinkSync, utimesSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Logger } from '../log/logger.js';
import { readAt } from './read-at.js';

const HEADER = 24;

/** Where the disk cache is (`dir` undefined: no cache) and how many bytes it may hold. */
export interface FileDataCacheSettings {
  readonly dir: string | undefined;
  readonly maxBytes: number;
}

/** One kind of entry: its file suffix, magic and format version. */
export interface FileDataKind {
  /** e.g. '.tbl'; listed in CACHE_SUFFIXES so eviction sees every kind. */
  readonly suffix: string;
  readonly magic: number;
  /** Bumped whenever what is derived from the same file changes. */
  readonly version: number;
  /** For messages: "unwind table", "symbol table". */
  readonly what: string;
}

/** Every kind's suffix: the directory's bound counts them all. */
export const CACHE_SUFFIXES: readonly string[] = ['.tbl', '.sym', '.ksym'];

/** An entry as stored: a small JSON value and the bytes. */
export interface FileDataEntry {
  readonly meta: unknown;
  readonly payload: Buffer;
}

/**
 * A cache file kept open, so parts of its payload can be read when needed
 * instead of held in memory; eviction or a rewrite unlinks the name, not
 * this inode. The descriptor is closed once nothing refers to this object.
 */
export interface OpenCacheFile {
  readonly fd: number;
  /** Where the payload starts in the file. */
  readonly payloadAt: number;
}

/** An entry read through a descriptor that stays open (`file`). */
export interface OpenFileDataEntry extends FileDataEntry {
  readonly file: OpenCacheFile;
}

// Closes a kept file's descriptor once no table refers to it any more.
const openFiles = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
});

/** Counters of one process's (or worker's) use of the cache. */
export interface FileDataCacheCounters {
  hits: number;
  misses: number;
  /** Files found but not valid: ignored, derived again and rewritten. */
  corrupt: number;
  writes: number;
  evicted: number;
}

/** See the module comment. */
export interface FileDataCache {
  /** The entry under `key` that `valid` accepts (a rejected one counts as corrupt). */
  get(key: string, valid?: (e: FileDataEntry) => boolean): FileDataEntry | undefined;
  /** As get, and the file stays open for later reads of its payload (its descriptor closes once `file` is unreachable). */
  open(key: string, valid?: (e: OpenFileDataEntry) => boolean): OpenFileDataEntry | undefined;
  put(key: string, e: FileDataEntry): void;
  readonly counters: FileDataCacheCounters;
}

/**
 * Opens the cache of `kind` in `dir` (created 0700 if missing), or undefined
 * with the reason through `log` when it is not a directory this user owns alone.
 */
export function openFileDataCache(dir: string, maxBytes: number, kind: FileDataKind, log?: Logger): FileDataCache | undefined {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    const uid = process.getuid?.();
    if (!st.isDirectory()) throw new Error('not a directory');
    // What is read back goes into the kernel walker's maps or names frames: nobody else may plant it.
    if (uid !== undefined && st.uid !== uid) throw new Error(`owned by uid ${st.uid}, not ${uid}`);
    if ((st.mode & 0o022) !== 0) throw new Error(`writable by others (mode ${(st.mode & 0o777).toString(8)})`);
  } catch (err) {
    log?.warn(`using ${kind.what} cache ${dir}: ${(err as Error).message}: deriving every table again`);
    return undefined;
  }
  const counters: FileDataCacheCounters = { hits: 0, misses: 0, corrupt: 0, writes: 0, evicted: 0 };
  // The format version is part of the name: two agent versions sharing the directory (a
  // rolling upgrade, a bench of two builds) each keep their own files instead of rewriting each other's.
  const fileOf = (key: string): string => join(dir, `${createHash('sha256').update(`${kind.version}\0${key}`).digest('hex').slice(0, 40)}${kind.suffix}`);

  // Bytes in the directory as last listed plus what this process wrote since: the
  // directory is listed again only when that passes the bound, not after every write.
  let knownBytes: number | undefined;
  const evict = (): void => {
    const files: { path: string; size: number; mtime: number }[] = [];
    let total = 0;
    for (const name of readdirSync(dir)) {
      if (!CACHE_SUFFIXES.some((s) => name.endsWith(s))) continue;
      try {
        const st = statSync(join(dir, name));
        files.push({ path: join(dir, name), size: st.size, mtime: st.mtimeMs });
        total += st.size;
      } catch {
        // removed meanwhile (another agent evicting)
      }
    }
    files.sort((a, b) => a.mtime - b.mtime);
    for (const f of files) {
      if (total <= maxBytes) break;
      try {
        unlinkSync(f.path);
        counters.evicted++;
      } catch {
        // already gone
      }
      total -= f.size;
    }
    knownBytes = total;
  };

  function read(key: string, keepOpen: true, valid?: (e: OpenFileDataEntry) => boolean): OpenFileDataEntry | undefined;
  function read(key: string, keepOpen: boolean, valid?: (e: FileDataEntry) => boolean): FileDataEntry | undefined;
  function read(key: string, keepOpen: boolean, valid?: (e: OpenFileDataEntry) => boolean): FileDataEntry | undefined {
    const path = fileOf(key);
    let fd: number;
    let data: Buffer;
    try {
      fd = openSync(path, 'r');
    } catch {
      counters.misses++;
      return undefined;
    }
    let e: FileDataEntry | OpenFileDataEntry | undefined;
    try {
      data = Buffer.allocUnsafe(fstatSync(fd).size);
      if (readAt(fd, data, 0) < data.length) throw new Error('truncated while read');
      e = decode(data, key, kind);
      if (e !== undefined && keepOpen) {
        const file: OpenCacheFile = { fd, payloadAt: e.payload.byteOffset - data.byteOffset };
        openFiles.register(file, fd, file);
        e = { ...e, file };
      }
    } catch {
      e = undefined;
    }
    if (e === undefined || (valid !== undefined && !valid(e as OpenFileDataEntry))) {
      if (e !== undefined && 'file' in e) openFiles.unregister(e.file);
      closeSync(fd);
      counters.corrupt++;
      counters.misses++;
      return undefined;
    }
    if (!keepOpen) closeSync(fd);
    counters.hits++;
    try {
      const now = new Date();
      utimesSync(path, now, now);
    } catch {
      // evicted meanwhile: the entry is still good
    }
    return e;
  }

  return {
    counters,
    get(key, valid) {
      return read(key, false, valid);
    },
    open(key, valid) {
      return read(key, true, valid);
    },
    put(key, e) {
      if (e.payload.length + HEADER > maxBytes) return;
      const tmp = join(dir, `.tmp-${randomBytes(8).toString('hex')}`);
      try {
        const fd = openSync(tmp, 'wx', 0o600);
        try {
          writeSync(fd, encode(key, e, kind));
        } finally {
          closeSync(fd);
        }
        renameSync(tmp, fileOf(key));
        counters.writes++;
        if (knownBytes === undefined || (knownBytes += e.payload.length + HEADER) > maxBytes) evict();
      } catch (err) {
        try { unlinkSync(tmp); } catch { /* never created */ }
        log?.debug(`writing ${kind.what} cache ${dir}: ${(err as Error).message}`);
      }
    },
  };
}

function encode(key: string, e: FileDataEntry, kind: FileDataKind): Buffer {
  const k = Buffer.from(key, 'utf8');
  const json = JSON.stringify(e.meta ?? null);
  // Spaces after the JSON start the payload at a multiple of 8 bytes: a reader
  // whose buffer starts aligned can view its 64-bit arrays in place, not copy them.
  const m = Buffer.from(json.padEnd(json.length + ((8 - ((HEADER + k.length + Buffer.byteLength(json)) % 8)) % 8)), 'utf8');
  const out = Buffer.alloc(HEADER + k.length + m.length + e.payload.length);
  out.writeUInt32LE(kind.magic, 0);
  out.writeUInt32LE(kind.version, 4);
  out.writeUInt32LE(k.length, 8);
  out.writeUInt32LE(m.length, 12);
  out.writeUInt32LE(e.payload.length, 16);
  k.copy(out, HEADER);
  m.copy(out, HEADER + k.length);
  e.payload.copy(out, HEADER + k.length + m.length);
  out.writeUInt32LE(crc32(out.subarray(HEADER)), 20);
  return out;
}

/** The entry in `data` when every check passes, else undefined. */
function decode(data: Buffer, key: string, kind: FileDataKind): FileDataEntry | undefined {
  if (data.length < HEADER || data.readUInt32LE(0) !== kind.magic || data.readUInt32LE(4) !== kind.version) return undefined;
  const kLen = data.readUInt32LE(8);
  const mLen = data.readUInt32LE(12);
  const pLen = data.readUInt32LE(16);
  if (HEADER + kLen + mLen + pLen !== data.length) return undefined;
  if (crc32(data.subarray(HEADER)) !== data.readUInt32LE(20)) return undefined;
  if (data.toString('utf8', HEADER, HEADER + kLen) !== key) return undefined;
  let meta: unknown;
  try {
    meta = JSON.parse(data.toString('utf8', HEADER + kLen, HEADER + kLen + mLen));
  } catch {
    return undefined;
  }
  return { meta, payload: data.subarray(HEADER + kLen + mLen) };
}
