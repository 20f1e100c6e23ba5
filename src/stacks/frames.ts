/**
 * Named frames: what symbolization turns raw addresses into, and what the
 * profile model is made of. Neutral ground, so symbolize/ need not import
 * profile/ and profile/ need not import symbolize/.
 */
import type { DropCounts } from './raw-stacks.js';

/** Frame kinds, named as the OTel `profile.frame.type` attribute names them. */
export type FrameKind = 'native' | 'kernel' | 'go' | 'jvm' | 'v8js' | 'cpython';

/** A mapped file (or anonymous/JIT region) of one process. */
export interface Mapping {
  readonly start: bigint;
  readonly limit: bigint;
  /** File offset of `start`. */
  readonly fileOffset: bigint;
  /** Path as the process sees it, e.g. /usr/lib/x86_64-linux-gnu/libc.so.6, [vdso], [kernel.kallsyms]. */
  readonly file: string;
  /** GNU build-id as lowercase hex, when the file has one. */
  readonly buildId: string | undefined;
}

/** One resolved frame. */
export interface Frame {
  /** Display name: demangled function, or `module+0xOFFSET` when no symbol covers the address. */
  readonly functionName: string;
  /** Name as in the symbol table (mangled), when it differs from functionName. */
  readonly systemName?: string | undefined;
  readonly kind: FrameKind;
  /** Runtime (virtual) address of the instruction. */
  readonly address: bigint;
  readonly mapping: Mapping | undefined;
  readonly fileName?: string | undefined;
  readonly line?: number | undefined;
  /** False when the name is the `module+0xOFFSET` fallback. */
  readonly symbolized: boolean;
}

/**
 * A batch's stacks as frames: `stacks[i]` names `batch.samples[i]`, leaf
 * first, kernel frames before user frames. `drops` holds only what naming
 * added (unmapped addresses, unknown processes), not the batch's own.
 */
export interface NamedStacks {
  readonly stacks: readonly (readonly Frame[])[];
  readonly drops: DropCounts;
}
