/**
 * How local files are written, for `record` and the agent alike:
 * MESHPROF_OUTPUT_MODE (default 0600) is the permission of each file, in
 * octal as chmod takes it; a directory the agent creates gets the same bits
 * plus x wherever r is set (0600 → 0700, 0640 → 0750). Profiles hold pids,
 * command names and paths, so by default only their owner reads them.
 */
import { ConfigError } from './config-error.js';
import { envValue, type EnvRecord } from './env-values.js';

/** Default file mode of profiles. */
export const DEFAULT_OUTPUT_MODE = 0o600;

/** Reads an octal file mode (600, 0640, 0o644); throws naming the setting. */
export function parseFileMode(name: string, raw: string): number {
  const m = /^(?:0o?)?([0-7]{3})$/i.exec(raw.trim());
  if (m === null) throw new ConfigError(name, `${name}=${raw}: not a file mode: use three octal digits as chmod takes them, e.g. 0600 or 0640`);
  const mode = parseInt(m[1] ?? '', 8);
  if ((mode & 0o600) !== 0o600) throw new ConfigError(name, `${name}=${raw}: the owner could not read or rewrite the files: keep 6 as the first digit, e.g. 0600`);
  return mode;
}

/** The directory mode for a file mode: x added wherever r is set (0600 → 0700, 0644 → 0755). */
export function directoryModeFor(fileMode: number): number {
  return fileMode | ((fileMode & 0o444) >> 2);
}

/** MESHPROF_OUTPUT_MODE, or the default. */
export function readOutputModeEnv(env: EnvRecord): number {
  const raw = envValue(env, 'MESHPROF_OUTPUT_MODE');
  return raw === undefined ? DEFAULT_OUTPUT_MODE : parseFileMode('MESHPROF_OUTPUT_MODE', raw);
}
