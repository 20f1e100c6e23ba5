import { randomBytes } from 'node:crypto';
import { accessSync, closeSync, constants, fchmodSync, lstatSync, openSync, renameSync, rmSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Profile } from '../profile/model.js';

/** Formats a profile can be written to one file in. */
export type ProfileFileFormat = 'pprof' | 'folded' | 'html' | 'otlp' | 'otlp-json';

export interface WriteOptions {
  /** Which sample value folded output shows (index into sampleTypes). */
  readonly valueIndex?: number;
  readonly title?: string;
}

/** Serializes one profile in the given format; each encoder is imported on first use. */
export async function encodeProfileFile(format: ProfileFileFormat, profile: Profile, opts: WriteOptions = {}): Promise<Uint8Array | string> {
  switch (format) {
    case 'pprof':
      return (await import('../encode/pprof.js')).encodePprof(profile);
    case 'folded':
      return (await import('../encode/folded.js')).encodeFolded(profile, { valueIndex: opts.valueIndex ?? 0 });
    case 'html':
      return (await import('../encode/html.js')).encodeHtml(profile, { title: opts.title ?? 'meshprof profile' });
    case 'otlp':
    case 'otlp-json': {
      const { encodeOtlpFile } = await import('../encode/otlp-file.js');
      return encodeOtlpFile([profile], format === 'otlp-json' ? 'json' : 'binary');
    }
  }
}

/** How a file is written: its permission bits (MESHPROF_OUTPUT_MODE; default 0600, as profiles hold pids, commands and paths). */
export interface FileWriteOptions {
  readonly mode?: number | undefined;
}

/** Default permission bits of written profiles: they name pids, commands and paths. */
export const DEFAULT_FILE_MODE = 0o600;

/**
 * The one file writer: atomically (temp file + rename) so a reader never
 * sees half a profile. The temp name is unpredictable and created with
 * O_EXCL|O_NOFOLLOW, so a link planted in a directory others can write cannot
 * make root write anywhere else; the rename replaces a link at `path` itself,
 * never what it points to. `-`, a pipe or a character device (`/dev/stdout`,
 * `/dev/full`) is written to directly, not replaced.
 */
export async function writeProfileFile(path: string, format: ProfileFileFormat, profile: Profile, opts: WriteOptions & FileWriteOptions = {}): Promise<void> {
  await writeFileAtomically(path, await encodeProfileFile(format, profile, opts), 'profile', opts);
}

/** Where a path leads: a regular file (or nothing yet), a stream to write into, or something never to write. */
type OutputTarget =
  | { readonly kind: 'file' }
  | { readonly kind: 'stream' }
  | { readonly kind: 'refuse'; readonly why: string };

/**
 * Classifies path without following a link, except the ones a user names to
 * mean a stream (/dev/stdout, /dev/fd/N, /proc/self/fd/N): a link elsewhere
 * that leads to a device is replaced like any file, never written through.
 */
function outputTarget(path: string): OutputTarget {
  if (path === '-') return { kind: 'stream' };
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch (err) {
    // Missing, or a parent that is not a directory: the directory check names it.
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'file' };
    throw err;
  }
  if (st.isSymbolicLink() && /^\/(dev|proc\/self|proc\/thread-self)\//.test(path)) {
    try {
      st = statSync(path);
    } catch {
      return { kind: 'refuse', why: 'a link to nothing' };
    }
  }
  if (st.isDirectory()) return { kind: 'refuse', why: 'a directory: name a file in it, e.g. profile.pb.gz' };
  if (st.isBlockDevice()) return { kind: 'refuse', why: 'a block device: name a regular file' };
  if (st.isCharacterDevice() || st.isFIFO() || st.isSocket()) return { kind: 'stream' };
  return { kind: 'file' };
}

/**
 * Checks, before any recording, that path can be written: not a directory or
 * block device, and its directory exists and is writable. Throws naming what
 * to change; a check at the end would lose the whole recording.
 */
export function checkOutputPath(path: string): void {
  let target: OutputTarget;
  try {
    target = outputTarget(path);
  } catch (err) {
    throw new Error(`${path}: cannot reach it (${(err as NodeJS.ErrnoException).code ?? String(err)}): write elsewhere`);
  }
  if (target.kind === 'refuse') throw new Error(`${path} is ${target.why}`);
  if (target.kind === 'stream') return;
  const dir = dirname(path);
  let st: Stats;
  try {
    st = statSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`${path}: directory ${dir} does not exist: create it or write elsewhere`);
    throw new Error(`${path}: cannot reach directory ${dir} (${code ?? String(err)}): write elsewhere`);
  }
  if (!st.isDirectory()) throw new Error(`${path}: ${dir} is not a directory`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new Error(`${path}: directory ${dir} is not writable: write elsewhere`);
  }
}

/** Writes data into an open stream-like file and closes it. */
async function writeStream(path: string, data: Uint8Array | string): Promise<void> {
  if (path === '-') {
    await new Promise<void>((resolve, reject) => {
      process.stdout.write(data, (err) => (err ? reject(err) : resolve()));
    });
    return;
  }
  // No O_CREAT: the node exists (a device, pipe or socket); O_NOCTTY so a terminal never becomes ours.
  const fh = await open(path, constants.O_WRONLY | constants.O_NOCTTY);
  try {
    await fh.writeFile(data);
  } finally {
    await fh.close();
  }
}

/** Writes data to path through an exclusive temp file and a rename; `what` names it in errors. */
export async function writeFileAtomically(path: string, data: Uint8Array | string, what: string, opts: FileWriteOptions = {}): Promise<void> {
  let target: OutputTarget;
  try {
    target = outputTarget(path);
  } catch (err) {
    throw new Error(`writing ${what} ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (target.kind === 'refuse') throw new Error(`writing ${what} ${path}: it is ${target.why}`);
  if (target.kind === 'stream') {
    try {
      await writeStream(path, data);
    } catch (err) {
      throw new Error(`writing ${what} ${path === '-' ? 'to stdout' : path}: ${err instanceof Error ? err.message : String(err)}`);
    }
    return;
  }
  const mode = opts.mode ?? DEFAULT_FILE_MODE;
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`);
  let created = false;
  // Synchronous: five calls into the page cache take ~0.1 ms, where each
  // awaited one was a trip through libuv's thread pool, ~0.5 ms of CPU per
  // file at every interval of an always-on agent.
  try {
    const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
    created = true;
    try {
      // The umask would narrow the mode: set it exactly, as configured.
      fchmodSync(fd, mode);
      writeFileSync(fd, data);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    // Never a partial temp file left behind (ENOSPC, a directory at path, ...).
    if (created) {
      try {
        rmSync(tmp, { force: true });
      } catch {
        // the error below says what failed
      }
    }
    throw new Error(`writing ${what} ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
