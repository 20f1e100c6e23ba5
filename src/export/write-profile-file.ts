import { rename, writeFile } from 'node:fs/promises';
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

/** Writes atomically (temp file + rename) so a reader never sees half a profile. */
export async function writeProfileFile(path: string, format: ProfileFileFormat, profile: Profile, opts: WriteOptions = {}): Promise<void> {
  const data = await encodeProfileFile(format, profile, opts);
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    throw new Error(`writing profile ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
