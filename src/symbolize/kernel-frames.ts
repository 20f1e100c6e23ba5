/** Kernel frames from kallsyms, memoized per batch. */
import type { Frame, Mapping } from '../stacks/frames.js';
import type { KallsymsTable } from './kallsyms.js';

/** A frame under construction: names are rewritten once the batch is demangled. */
export type MutableFrame = { -readonly [K in keyof Frame]: Frame[K] };

/** Resolves kernel addresses; one per batch (its memo is per batch). */
export interface KernelFrameResolver {
  /** `isReturn`: the address is a return address (every frame but the leaf), so addr-1 is looked up. */
  frame(address: bigint, isReturn: boolean): MutableFrame;
  /** Frames no kallsyms symbol covered. */
  readonly unresolved: number;
}

const KERNEL_FILE = '[kernel.kallsyms]';

/**
 * Creates a resolver over `kallsyms` (undefined: every frame is the
 * `[kernel.kallsyms]+0x...` fallback). `mappings` is shared across batches so
 * each module has one Mapping object. Each new frame is appended to `created`.
 */
export function createKernelFrameResolver(
  kallsyms: KallsymsTable | undefined,
  mappings: Map<string, Mapping>,
  created: MutableFrame[],
): KernelFrameResolver {
  const memo = [new Map<bigint, MutableFrame>(), new Map<bigint, MutableFrame>()];
  let unresolved = 0;
  const mappingFor = (module: string | undefined): Mapping => {
    const file = module === undefined ? KERNEL_FILE : `[${module}]`;
    let m = mappings.get(file);
    if (m === undefined) {
      m = { start: 0n, limit: 0xffffffffffffffffn, fileOffset: 0n, file, buildId: undefined };
      mappings.set(file, m);
    }
    return m;
  };
  return {
    frame(address, isReturn) {
      const cache = memo[isReturn ? 1 : 0]!;
      let f = cache.get(address);
      if (f !== undefined) {
        if (!f.symbolized) unresolved++;
        return f;
      }
      const sym = kallsyms?.lookup(isReturn ? address - 1n : address);
      if (sym === undefined) {
        unresolved++;
        f = { functionName: `${KERNEL_FILE}+0x${address.toString(16)}`, kind: 'kernel', address, mapping: mappingFor(undefined), symbolized: false };
      } else {
        f = { functionName: sym.name, kind: 'kernel', address, mapping: mappingFor(sym.module), symbolized: true };
      }
      cache.set(address, f);
      created.push(f);
      return f;
    },
    get unresolved() {
      return unresolved;
    },
  };
}
