/**
 * Where built tables are cached on disk, from the environment:
 * MESHPROF_CACHE_DIR (default `$XDG_CACHE_HOME/meshprof`, `~/.cache/meshprof`,
 * or `/var/cache/meshprof` as root; `none` turns the cache off) and
 * MESHPROF_CACHE_MAX_BYTES (default 256MiB; oldest files go first).
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from './config-error.js';
import type { TableCacheSettings } from '../unwind/table-disk-cache.js';
import { envValue, parseByteSize, type EnvRecord } from './env-values.js';

/** Default bound of the disk cache: node's table is 6 MB, libLLVM's 15 MB. */
export const DEFAULT_TABLE_CACHE_MAX_BYTES = 256 * 2 ** 20;

/** Reads the cache settings; throws a ConfigError naming the variable. */
export function readTableCacheEnv(env: EnvRecord, uid: number = process.getuid?.() ?? -1): TableCacheSettings {
  const raw = envValue(env, 'MESHPROF_CACHE_DIR');
  const max = envValue(env, 'MESHPROF_CACHE_MAX_BYTES');
  const maxBytes = max === undefined ? DEFAULT_TABLE_CACHE_MAX_BYTES : parseByteSize('MESHPROF_CACHE_MAX_BYTES', max, 0);
  if (raw?.toLowerCase() === 'none') return { dir: undefined, maxBytes };
  if (raw !== undefined && !raw.startsWith('/')) {
    throw new ConfigError('MESHPROF_CACHE_DIR', `MESHPROF_CACHE_DIR=${raw}: not an absolute path: use e.g. /var/cache/meshprof, or none`);
  }
  const xdg = envValue(env, 'XDG_CACHE_HOME');
  const dir = raw ?? (uid === 0 ? '/var/cache/meshprof' : join(xdg ?? join(homedir(), '.cache'), 'meshprof'));
  return { dir, maxBytes };
}
