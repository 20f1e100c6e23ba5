import { accessSync, constants, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { LocalFormat } from '../config/agent-config.js';
import type { Logger } from '../log/logger.js';
import type { Profile } from '../profile/model.js';
import type { ExportMetrics } from './export-metrics.js';
import type { ProfileSink } from './profile-sink.js';
import { DEFAULT_FILE_MODE, writeProfileFile } from './write-profile-file.js';

const extension: Record<LocalFormat, string> = { pprof: 'pb.gz', html: 'html', folded: 'folded' };

/** The names this class writes, and so the only ones the size cap ever deletes. */
const OWN_FILE = /^[a-z][a-z-]*-\d{8}T\d{6}Z\.(?:pb\.gz|html|folded)$/;

/** How the directory is kept. */
export interface LocalFilesOptions {
  /** Permission bits of each file (MESHPROF_OUTPUT_MODE); the directory, if created, gets them plus x where r is set. */
  readonly mode?: number | undefined;
  /** Bound on the total size of the files this writer owns (MESHPROF_OUTPUT_MAX_BYTES); the oldest go first. */
  readonly maxBytes?: number | undefined;
}

interface OwnFile {
  readonly path: string;
  readonly bytes: number;
  readonly mtimeMs: number;
}

/**
 * Creates dir and its missing parents one at a time. Not mkdir's recursive
 * option: under /proc it loops forever in libuv (ENOENT from a parent that
 * exists), which took the agent to 70% CPU and past SIGINT.
 */
function makeDirectory(dir: string, mode: number): void {
  const missing: string[] = [];
  let at = resolve(dir);
  for (;;) {
    try {
      if (!statSync(at).isDirectory()) throw new Error(`${at} is not a directory`);
      break;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR') throw new Error(`a parent of ${at} is not a directory`);
      if (code !== 'ENOENT') throw err;
      missing.unshift(at);
      const parent = dirname(at);
      if (parent === at) break;
      at = parent;
    }
  }
  for (const d of missing) {
    try {
      mkdirSync(d, { mode });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`creating ${d}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }
}

/** Writes each interval's profile into a directory, one file per format, within a total size. */
export class LocalProfileFiles {
  private readonly mode: number;
  private readonly maxBytes: number;
  /** Files this writer owns, oldest first; read from the directory once, then kept up to date. */
  private files: OwnFile[] | undefined;

  constructor(private readonly dir: string, private readonly formats: readonly LocalFormat[], opts: LocalFilesOptions = {}) {
    this.mode = opts.mode ?? DEFAULT_FILE_MODE;
    this.maxBytes = opts.maxBytes ?? Number.POSITIVE_INFINITY;
  }

  /**
   * Creates the directory when missing and checks it can be written, so a bad
   * MESHPROF_OUTPUT_DIR fails at start, not after the first interval. Throws
   * with what is wrong (the caller names the setting).
   */
  prepare(): void {
    const real = resolve(this.dir);
    if (/^\/(proc|sys|dev)(\/|$)/.test(real)) throw new Error(`it is in /${real.split('/')[1]}, where files cannot be kept: use a directory on a disk`);
    makeDirectory(this.dir, this.mode | ((this.mode & 0o444) >> 2));
    try {
      accessSync(this.dir, constants.W_OK | constants.X_OK);
    } catch {
      throw new Error('not writable by this process: mount it writable or use another directory');
    }
    this.files = this.scan();
  }

  private scan(): OwnFile[] {
    const files: OwnFile[] = [];
    for (const name of readdirSync(this.dir)) {
      if (!OWN_FILE.test(name)) continue;
      try {
        const st = statSync(join(this.dir, name));
        if (st.isFile()) files.push({ path: join(this.dir, name), bytes: st.size, mtimeMs: st.mtimeMs });
      } catch {
        // gone meanwhile
      }
    }
    return files.sort((a, b) => a.mtimeMs - b.mtimeMs || (a.path < b.path ? -1 : 1));
  }

  /** Total bytes of the files this writer owns. */
  totalBytes(): number {
    return (this.files ?? []).reduce((n, f) => n + f.bytes, 0);
  }

  /** Returns the paths written, e.g. profiles/oncpu-20261127T050102Z.pb.gz. */
  async write(kind: string, profile: Profile): Promise<string[]> {
    if (this.files === undefined) this.prepare();
    const stamp = new Date(Number(profile.startTimeNs / 1_000_000n)).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    const paths: string[] = [];
    for (const format of this.formats) {
      const path = join(this.dir, `${kind}-${stamp}.${extension[format]}`);
      await writeProfileFile(path, format, profile, { title: `meshprof ${kind} ${stamp}`, mode: this.mode });
      const st = statSync(path);
      this.files = [...(this.files ?? []).filter((f) => f.path !== path), { path, bytes: st.size, mtimeMs: st.mtimeMs }];
      paths.push(path);
    }
    this.trim(new Set(paths));
    return paths;
  }

  /** Deletes the oldest own files until the total fits maxBytes; never the ones just written. */
  private trim(keep: ReadonlySet<string>): void {
    const files = this.files ?? [];
    let total = this.totalBytes();
    const kept: OwnFile[] = [];
    for (const f of files) {
      if (total > this.maxBytes && !keep.has(f.path)) {
        rmSync(f.path, { force: true });
        total -= f.bytes;
      } else {
        kept.push(f);
      }
    }
    this.files = kept;
  }
}

/**
 * The agent's local-files sink: one error line when writing starts failing
 * (with what to do), one when it works again, the profiles lost in between
 * counted as export drops of `local-files`.
 */
export function createLocalFilesSink(files: LocalProfileFiles, log: Logger, metrics: ExportMetrics): ProfileSink {
  let failing = false;
  return {
    name: 'local-files',
    async consume(kind, profile) {
      try {
        const paths = await files.write(kind, profile);
        if (failing) log.info({ kind, paths }, 'local files: writing works again');
        failing = false;
        log.info({ kind, paths, startTimeNs: String(profile.startTimeNs), durationNs: String(profile.durationNs) }, 'wrote profile files');
      } catch (err) {
        const samples = profile.samples.length;
        metrics.recordDrop('local-files', 'permanent_error', samples);
        const message = err instanceof Error ? err.message : String(err);
        if (!failing) log.error({ kind, err: message }, 'local files: cannot write (MESHPROF_OUTPUT_DIR): profiles are dropped until it works again; set MESHPROF_OUTPUT_DIR=none to stop writing them');
        else log.debug({ kind, err: message }, 'local files: still failing');
        failing = true;
      }
    },
    async shutdown() {},
  };
}
