/**
 * Built unwind tables on disk, so a binary seen once is not parsed again,
 * across restarts too. One file per table, named after the hash of its key
 * (the GNU build-id, else the file's key and stamp), in a directory the
 * agent's user owns and nobody else can write. Files are written under a
 * random O_EXCL temp name and renamed, and checked on read (magic, version,
 * lengths, the key, a CRC-32): a corrupt or truncated file is ignored and
 * the table rebuilt, never trusted. The directory is bounded in bytes;
 * the least recently used files (by mtime, touched on each hit) go first.
 *
 *   0  'MPUT'  4  u32 version  8  u32 key length  12 u32 stats length
 *  16  u32 table length  20  u32 crc32 of what follows  24  key, stats JSON, rows
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, utimesSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { UnwindTableStats } from './unwind-table.js';
import type { Logger } from '../log/logger.js';

/** Bumped whenever the rows a build produces for the same file change. */
export const TABLE_CACHE_VERSION = 1;
const MAGIC = 0x5455504d; // 'MPUT' little-endian
const HEADER = 24;

/** Where the disk cache is (`dir` undefined: no cache) and how many bytes it may hold. */
export interface TableCacheSettings {
  readonly dir: string | undefined;
  readonly maxBytes: number;
}

/** A table as cached. */
export interface CachedTable {
  readonly table: Buffer;
  readonly stats: UnwindTableStats | undefined;
}

/** Counters of one process's (or worker's) use of the cache. */
export interface TableCacheCounters {
  hits: number;
  misses: number;
  /** Files found but not valid: ignored, rebuilt and rewritten. */
  corrupt: number;
  writes: number;
  evicted: number;
}

/** See the module comment. */
export interface TableDiskCache {
  get(key: string): CachedTable | undefined;
  put(key: string, t: CachedTable): void;
  readonly counters: TableCacheCounters;
}

/**
 * Opens the cache in `dir` (created 0700 if missing), or undefined with the
 * reason through `log` when it is not a directory this user owns alone.
 */
export function openTableDiskCache(dir: string, maxBytes: number, log?: Logger): TableDiskCache | undefined {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    const uid = process.getuid?.();
    if (!st.isDirectory()) throw new Error('not a directory');
    // Tables go into the kernel walker's maps: nobody else may plant one.
    if (uid !== undefined && st.uid !== uid) throw new Error(`owned by uid ${st.uid}, not ${uid}`);
    if ((st.mode & 0o022) !== 0) throw new Error(`writable by others (mode ${(st.mode & 0o777).toString(8)})`);
  } catch (err) {
    log?.warn(`using unwind table cache ${dir}: ${(err as Error).message}: building every table`);
    return undefined;
  }
  const counters: TableCacheCounters = { hits: 0, misses: 0, corrupt: 0, writes: 0, evicted: 0 };
  const fileOf = (key: string): string => join(dir, `${createHash('sha256').update(key).digest('hex').slice(0, 40)}.tbl`);

  const evict = (): void => {
    const files: { path: string; size: number; mtime: number }[] = [];
    let total = 0;
    for (const name of readdirSync(dir)) {
      if (!name.endsWith('.tbl')) continue;
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
  };

  return {
    counters,
    get(key) {
      const path = fileOf(key);
      let data: Buffer;
      try {
        data = readFileSync(path);
      } catch {
        counters.misses++;
        return undefined;
      }
      const t = decode(data, key);
      if (t === undefined) {
        counters.corrupt++;
        counters.misses++;
        return undefined;
      }
      counters.hits++;
      try {
        const now = new Date();
        utimesSync(path, now, now);
      } catch {
        // evicted meanwhile: the table is still good
      }
      return t;
    },
    put(key, t) {
      if (t.table.length + HEADER > maxBytes) return;
      const tmp = join(dir, `.tmp-${randomBytes(8).toString('hex')}`);
      try {
        const fd = openSync(tmp, 'wx', 0o600);
        try {
          writeSync(fd, encode(key, t));
        } finally {
          closeSync(fd);
        }
        renameSync(tmp, fileOf(key));
        counters.writes++;
        evict();
      } catch (err) {
        try { unlinkSync(tmp); } catch { /* never created */ }
        log?.debug(`writing unwind table cache ${dir}: ${(err as Error).message}`);
      }
    },
  };
}

function encode(key: string, t: CachedTable): Buffer {
  const k = Buffer.from(key, 'utf8');
  const s = Buffer.from(JSON.stringify(t.stats ?? null), 'utf8');
  const out = Buffer.alloc(HEADER + k.length + s.length + t.table.length);
  out.writeUInt32LE(MAGIC, 0);
  out.writeUInt32LE(TABLE_CACHE_VERSION, 4);
  out.writeUInt32LE(k.length, 8);
  out.writeUInt32LE(s.length, 12);
  out.writeUInt32LE(t.table.length, 16);
  k.copy(out, HEADER);
  s.copy(out, HEADER + k.length);
  t.table.copy(out, HEADER + k.length + s.length);
  out.writeUInt32LE(crc32(out.subarray(HEADER)), 20);
  return out;
}

/** The table in `data` when every check passes, else undefined. */
function decode(data: Buffer, key: string): CachedTable | undefined {
  if (data.length < HEADER || data.readUInt32LE(0) !== MAGIC || data.readUInt32LE(4) !== TABLE_CACHE_VERSION) return undefined;
  const kLen = data.readUInt32LE(8);
  const sLen = data.readUInt32LE(12);
  const tLen = data.readUInt32LE(16);
  if (HEADER + kLen + sLen + tLen !== data.length || tLen % 16 !== 0) return undefined;
  if (crc32(data.subarray(HEADER)) !== data.readUInt32LE(20)) return undefined;
  if (data.toString('utf8', HEADER, HEADER + kLen) !== key) return undefined;
  let stats: unknown;
  try {
    stats = JSON.parse(data.toString('utf8', HEADER + kLen, HEADER + kLen + sLen));
  } catch {
    return undefined;
  }
  if (stats !== null && (typeof stats !== 'object' || typeof (stats as UnwindTableStats).rows !== 'number' || (stats as UnwindTableStats).rows !== tLen / 16)) return undefined;
  const table = Buffer.from(data.subarray(HEADER + kLen + sLen));
  return { table, stats: (stats ?? undefined) as UnwindTableStats | undefined };
}
