import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
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

/**
 * The one file writer: atomically (temp file + rename) so a reader never
 * sees half a profile. The temp name is unpredictable and created
 * exclusively (O_CREAT|O_EXCL never follows a symlink), so a link planted in
 * a directory others can write cannot make root write anywhere else.
 */
export async function writeProfileFile(path: string, format: ProfileFileFormat, profile: Profile, opts: WriteOptions = {}): Promise<void> {
  await writeFileAtomically(path, await encodeProfileFile(format, profile, opts), 'profile');
}

/** Writes data to path through an exclusive temp file and a rename; `what` names it in errors. */
export async function writeFileAtomically(path: string, data: Uint8Array | string, what: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, data, { flag: 'wx', mode: 0o644 });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw new Error(`writing ${what} ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
