/** Reads a variable, treating blank as unset, as the OTel SDKs do. */
export function envValue(env: Readonly<Record<string, string | undefined>>, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

/**
 * Collects the agent's MESHPROF_* variables without judging them; validation
 * happens once, on the merged result, so messages can name the variable.
 *
 * MESHPROF_INTERVAL (15s), MESHPROF_FREQUENCY (99), MESHPROF_PROFILES (oncpu,offcpu),
 * MESHPROF_OUTPUT_DIR (profiles; "none" disables), MESHPROF_LOCAL_FORMATS (pprof,html,folded),
 * MESHPROF_HOST_PROC (/proc), MESHPROF_INCLUDE_IDLE (false), MESHPROF_KEEP_MANGLED (false),
 * MESHPROF_LINE_INFO (false), MESHPROF_UNWIND (eh-frame; or frame-pointers),
 * MESHPROF_UNWIND_TABLE_MEMORY (16MiB), MESHPROF_LOG_LEVEL (info),
 * MESHPROF_METRICS_ADDR (unset; e.g. 0.0.0.0:9464), MESHPROF_SHUTDOWN_TIMEOUT (10s),
 * MESHPROF_EXPORT_QUEUE_MAX_REQUESTS (256), MESHPROF_EXPORT_QUEUE_MAX_BYTES (64MiB),
 * MESHPROF_EXPORT_RETRY_MAX_ATTEMPTS (unlimited), MESHPROF_EXPORT_RETRY_INITIAL_BACKOFF (1s),
 * MESHPROF_EXPORT_RETRY_MAX_BACKOFF (30s), MESHPROF_EXPORT_RETRY_MAX_ELAPSED (5m),
 * MESHPROF_EXPORT_MAX_REQUEST_BYTES (4MiB).
 */
export function readAgentEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const names = [
    'MESHPROF_INTERVAL', 'MESHPROF_FREQUENCY', 'MESHPROF_PROFILES', 'MESHPROF_OUTPUT_DIR',
    'MESHPROF_LOCAL_FORMATS', 'MESHPROF_HOST_PROC', 'MESHPROF_INCLUDE_IDLE', 'MESHPROF_KEEP_MANGLED', 'MESHPROF_LINE_INFO', 'MESHPROF_LOG_LEVEL',
    'MESHPROF_UNWIND', 'MESHPROF_UNWIND_TABLE_MEMORY',
    'MESHPROF_METRICS_ADDR', 'MESHPROF_SHUTDOWN_TIMEOUT', 'MESHPROF_EXPORT_QUEUE_MAX_REQUESTS',
    'MESHPROF_EXPORT_QUEUE_MAX_BYTES', 'MESHPROF_EXPORT_RETRY_MAX_ATTEMPTS', 'MESHPROF_EXPORT_RETRY_INITIAL_BACKOFF',
    'MESHPROF_EXPORT_RETRY_MAX_BACKOFF', 'MESHPROF_EXPORT_RETRY_MAX_ELAPSED', 'MESHPROF_EXPORT_MAX_REQUEST_BYTES',
  ];
  const out: Record<string, string> = {};
  for (const n of names) {
    const v = envValue(env, n);
    if (v !== undefined) out[n] = v;
  }
  return out;
}
