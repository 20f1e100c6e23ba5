/**
 * `meshprof record -o x.otlp.pb | x.otlp.json`: writes one OTLP request to a
 * file, binary or JSON by extension.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { OtlpEncodeOptions } from '../encode/otlp.js';
import { encodeOtlpFile } from '../encode/otlp-file.js';
import type { Profile } from '../profile/model.js';

/** True for the file names written as OTLP: *.otlp.pb and *.otlp.json. */
export function isOtlpFilePath(path: string): boolean {
  return path.endsWith('.otlp.pb') || path.endsWith('.otlp.json');
}

/** Writes profiles to path as an OTLP request, binary or JSON by extension. */
export async function writeOtlpFile(path: string, profiles: readonly Profile[], options?: OtlpEncodeOptions): Promise<void> {
  const data = encodeOtlpFile(profiles, path.endsWith('.otlp.json') ? 'json' : 'binary', options);
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, data);
  } catch (err) {
    throw new Error(`writing ${path}: ${(err as Error).message}`, { cause: err });
  }
}
