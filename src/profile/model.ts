/**
 * The symbolized profile: what every serializer (pprof, folded, HTML, OTLP,
 * SkyWalking) reads. Plain data, no behaviour.
 */
import type { DropCounts, ValueType } from '../stacks/raw-stacks.js';

export type { DropCounts, ValueType };

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

/** What is known about the process a sample came from. */
export interface ProcessMetadata {
  readonly pid: number;
  /** comm of the main thread. */
  readonly name: string;
  readonly executablePath?: string | undefined;
  readonly commandLine?: string | undefined;
  /** OpenTelemetry resource attributes (container.id, k8s.pod.name, service.name, ...). */
  readonly attributes: Readonly<Record<string, string>>;
}

/** One stack with its values. */
export interface ProfileSample {
  readonly pid: number;
  readonly tid: number;
  readonly threadName: string;
  /** Leaf first: kernel frames (if any) come before user frames. */
  readonly frames: readonly Frame[];
  /** One per entry of Profile.sampleTypes. */
  readonly values: readonly number[];
}

export interface Profile {
  readonly sampleTypes: readonly ValueType[];
  readonly periodType: ValueType;
  readonly period: number;
  readonly startTimeNs: bigint;
  readonly durationNs: bigint;
  readonly samples: readonly ProfileSample[];
  readonly processes: ReadonlyMap<number, ProcessMetadata>;
  /** Everything lost on the way, by reason: kernel map overflow, unresolvable stacks, ... */
  readonly drops: DropCounts;
}
