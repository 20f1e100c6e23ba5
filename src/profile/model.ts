/**
 * The symbolized profile: what every serializer (pprof, folded, HTML, OTLP,
 * SkyWalking) reads. Plain data, no behaviour.
 */
import type { Frame } from '../stacks/frames.js';
import type { ProcessMetadata } from '../stacks/process-metadata.js';
import type { DropCounts, ValueType } from '../stacks/raw-stacks.js';

export type { DropCounts, ValueType };
export type { Frame, FrameKind, Mapping } from '../stacks/frames.js';
export type { ProcessMetadata } from '../stacks/process-metadata.js';

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
