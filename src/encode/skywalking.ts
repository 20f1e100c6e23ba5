/**
 * Profile → SkyWalking `EBPFProfilingData` messages, as Rover sends them: one
 * message per distinct stack of a flush, kernel stack first then user stack,
 * symbols leaf first. Pure: task metadata is added by the caller.
 */
import { create } from '@bufbuild/protobuf';
import type { Profile } from '../profile/model.js';
import { frameLabel } from './stack-names.js';
import {
  EBPFProfilingDataSchema,
  EBPFProfilingStackMetadataSchema,
  EBPFProfilingStackType,
  type EBPFProfilingData,
  type EBPFProfilingStackMetadata,
} from '../gen/skywalking/ebpf/profiling/Profile_pb.js';

/** Which SkyWalking profiling message a profile becomes. */
export type SkyWalkingProfilingKind = 'oncpu' | 'offcpu';

const INT32_MAX = 0x7fffffff;

/** Stable 31-bit id for a symbol list; OAP only needs it to tell stacks apart. */
export function skyWalkingStackId(symbols: readonly string[]): number {
  let h = 0x811c9dc5;
  for (const s of symbols) {
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    h = Math.imul(h ^ 0x0a, 0x01000193);
  }
  return (h >>> 0) & INT32_MAX;
}

function valueIndex(profile: Profile, type: string, fallback: number): number {
  const i = profile.sampleTypes.findIndex((t) => t.type === type);
  return i >= 0 ? i : fallback;
}

function stack(type: EBPFProfilingStackType, symbols: string[]): EBPFProfilingStackMetadata {
  return create(EBPFProfilingStackMetadataSchema, { stackType: type, stackId: skyWalkingStackId(symbols), stackSymbols: symbols });
}

interface Aggregate {
  kernel: string[];
  user: string[];
  count: number;
  durationNs: number;
}

/**
 * Encodes one flush. Samples with the same kernel and user symbols (across
 * threads of the process) are merged, as Rover keys its counts by stack.
 * On-CPU reads the `samples` value as dumpCount; off-CPU reads `switches` as
 * switchCount and `off_cpu` (ns) as duration. Values are deltas already:
 * each drain of a sampler covers only the time since the previous one.
 * Counts beyond int32 are clamped, since the protocol field is int32.
 */
export function encodeSkyWalkingProfilingData(profile: Profile, kind: SkyWalkingProfilingKind): EBPFProfilingData[] {
  const countAt = kind === 'oncpu' ? valueIndex(profile, 'samples', 0) : valueIndex(profile, 'switches', 0);
  const durationAt = valueIndex(profile, 'off_cpu', 1);
  const byStack = new Map<string, Aggregate>();
  for (const sample of profile.samples) {
    const kernel: string[] = [];
    const user: string[] = [];
    for (const f of sample.frames) (f.kind === 'kernel' ? kernel : user).push(frameLabel(f));
    const key = `${kernel.join('\n')}\u0000${user.join('\n')}`;
    let agg = byStack.get(key);
    if (agg === undefined) {
      agg = { kernel, user, count: 0, durationNs: 0 };
      byStack.set(key, agg);
    }
    agg.count += sample.values[countAt] ?? 0;
    agg.durationNs += sample.values[durationAt] ?? 0;
  }

  const out: EBPFProfilingData[] = [];
  for (const agg of byStack.values()) {
    if (agg.count <= 0) continue;
    const stacks: EBPFProfilingStackMetadata[] = [];
    if (agg.kernel.length > 0) stacks.push(stack(EBPFProfilingStackType.PROCESS_KERNEL_SPACE, agg.kernel));
    if (agg.user.length > 0) stacks.push(stack(EBPFProfilingStackType.PROCESS_USER_SPACE, agg.user));
    if (stacks.length === 0) continue;
    const count = Math.min(Math.round(agg.count), INT32_MAX);
    out.push(
      create(EBPFProfilingDataSchema, {
        profiling:
          kind === 'oncpu'
            ? { case: 'onCPU', value: { stacks, dumpCount: count } }
            : { case: 'offCPU', value: { stacks, switchCount: count, duration: BigInt(Math.round(agg.durationNs)) } },
      }),
    );
  }
  return out;
}

/**
 * A profile's on-CPU sample counts as encodeSkyWalkingProfilingData reads
 * them: as they are for a `samples`/count profile, or divided by the period
 * for `cpu`/nanoseconds (what producers that sample by time send); undefined
 * for any other type, which no ON_CPU task can take.
 */
export function onCpuSampleCounts(profile: Profile): Profile | undefined {
  const t = profile.sampleTypes[0];
  if (t === undefined || profile.sampleTypes.length !== 1) return undefined;
  if (t.type === 'samples' && t.unit === 'count') return profile;
  const period = profile.period;
  if (t.type !== 'cpu' || t.unit !== 'nanoseconds' || profile.periodType.unit !== 'nanoseconds' || !(period > 0)) return undefined;
  return {
    ...profile,
    sampleTypes: [{ type: 'samples', unit: 'count' }],
    samples: profile.samples.map((s) => ({ ...s, values: [Math.round((s.values[0] ?? 0) / period)] })),
  };
}
