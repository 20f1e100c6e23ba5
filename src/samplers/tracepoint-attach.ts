import { type Logger } from '../log/logger.js';
/** How a sched tracepoint program is attached: tp_btf (5.5+), raw_tp (4.17+), or the first that works. */
export type TracepointAttachMode = 'auto' | 'tp_btf' | 'raw_tp';

/**
 * Loads and attaches with `tryStart(hook)`: tp_btf first (or the hook `mode`
 * names), then, in 'auto' mode, raw_tp where tp_btf failed, saying so
 * through `log`. `cleanup` undoes a failed attempt.
 */
export function startWithTracepointFallback(
  mode: TracepointAttachMode,
  tracepoint: string,
  tryStart: (hook: 'tp_btf' | 'raw_tp') => void,
  cleanup: () => void,
  log?: Logger,
): void {
  try {
    tryStart(mode === 'raw_tp' ? 'raw_tp' : 'tp_btf');
    return;
  } catch (err) {
    cleanup();
    if (mode !== 'auto') throw err;
    log?.warn(`tp_btf/${tracepoint} unavailable (${err instanceof Error ? err.message : String(err)}); using raw_tp`);
  }
  try {
    tryStart('raw_tp');
  } catch (err) {
    cleanup();
    throw err;
  }
}
