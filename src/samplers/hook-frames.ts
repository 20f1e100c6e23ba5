/**
 * A stack taken inside a tracepoint starts in the tracing machinery that
 * took it (the sampler's BPF program, bpf_trace_run*, the tracepoint's
 * iterator). Those frames are the sampler's, not the traced thread's.
 */

const hookFrame = /^(?:bpf_prog_[0-9a-f]+_|bpf_trace_run\d|__bpf_trace_|__traceiter_)/;

/** Names a kernel address (kallsyms); undefined when unknown. */
export type KernelSymbolName = (address: bigint) => string | undefined;

/**
 * Returns a trimmer that drops a kernel stack's leading hook frames. Names
 * are looked up once per address: the same few hook addresses recur in
 * every stack.
 */
export function createHookFrameTrimmer(nameOf: KernelSymbolName): (stack: readonly bigint[]) => readonly bigint[] {
  const isHook = new Map<bigint, boolean>();
  const hook = (a: bigint): boolean => {
    let h = isHook.get(a);
    if (h === undefined) {
      h = hookFrame.test(nameOf(a) ?? '');
      // Bounded: only leading frames are asked, and they are few.
      if (isHook.size > 4096) isHook.clear();
      isHook.set(a, h);
    }
    return h;
  };
  return (stack) => {
    let n = 0;
    while (n < stack.length && hook(stack[n]!)) n++;
    return n === 0 ? stack : stack.slice(n);
  };
}
