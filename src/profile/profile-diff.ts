/**
 * The difference of two profiles, stack by stack: what `meshprof diff` writes.
 * Stacks are matched by process name and function names (kind included),
 * never by address, so two builds of a program, or two runs with other
 * pids and load addresses, compare.
 */
import type { Frame, Profile, ProfileSample, ValueType } from './model.js';

/** A stack of the difference: NEW − BASE in `values`, and both sides kept. */
export interface DiffSample extends ProfileSample {
  /** The stack's values in BASE (zeros when only NEW has it). */
  readonly baseValues: readonly number[];
  /** The stack's values in NEW (zeros when only BASE has it). */
  readonly newValues: readonly number[];
}

/**
 * A Profile whose sample values are NEW − BASE (negative where a stack
 * shrank), so every serializer of a Profile writes it; the totals of both
 * sides are kept for normalising.
 */
export interface ProfileDiff extends Profile {
  readonly samples: readonly DiffSample[];
  readonly baseTotals: readonly number[];
  readonly newTotals: readonly number[];
}

/** Thrown when two profiles cannot be compared (different sample types). */
export class ProfileDiffError extends Error {
  override readonly name = 'ProfileDiffError';
}

const describeTypes = (types: readonly ValueType[]): string => types.map((t) => `${t.type}/${t.unit}`).join(', ') || 'none';

/** The process name a sample is matched under: the process table's, else the thread's. */
function processName(profile: Profile, sample: ProfileSample): string {
  const name = profile.processes.get(sample.pid)?.name;
  return name !== undefined && name !== '' ? name : sample.threadName;
}

/** Key of a stack by names only: process, then each frame's kind and name, leaf first. */
function stackKey(profile: Profile, sample: ProfileSample): string {
  const parts = [processName(profile, sample)];
  for (const f of sample.frames) parts.push(`${f.kind === 'kernel' ? 'k' : 'u'}${f.functionName}`);
  return parts.join('\u0000');
}

interface Side {
  readonly name: string;
  readonly frames: readonly Frame[];
  readonly base: number[];
  readonly next: number[];
}

/**
 * NEW − BASE for every stack of either profile. Both must have the same
 * sample types (type and unit, in order): compare on-CPU with on-CPU,
 * off-CPU with off-CPU, memory with memory.
 */
export function diffProfiles(base: Profile, next: Profile): ProfileDiff {
  const same = base.sampleTypes.length === next.sampleTypes.length &&
    base.sampleTypes.every((t, i) => t.type === next.sampleTypes[i]?.type && t.unit === next.sampleTypes[i]?.unit);
  if (!same) {
    throw new ProfileDiffError(
      `comparing profiles of different kinds: BASE has sample types ${describeTypes(base.sampleTypes)}, NEW has ${describeTypes(next.sampleTypes)}: ` +
      'diff two recordings of the same --type in the same format (folded files carry one value)',
    );
  }
  const width = next.sampleTypes.length;
  const stacks = new Map<string, Side>();
  const add = (profile: Profile, isNew: boolean): void => {
    for (const s of profile.samples) {
      const key = stackKey(profile, s);
      let side = stacks.get(key);
      if (side === undefined) {
        side = { name: processName(profile, s), frames: s.frames, base: new Array<number>(width).fill(0), next: new Array<number>(width).fill(0) };
        stacks.set(key, side);
      } else if (isNew) {
        // NEW's frames (its addresses and mappings) describe the stack where both have it.
        side = { ...side, frames: s.frames };
        stacks.set(key, side);
      }
      const into = isNew ? side.next : side.base;
      for (let i = 0; i < width; i++) into[i] = (into[i] ?? 0) + (s.values[i] ?? 0);
    }
  };
  add(base, false);
  add(next, true);

  // One synthetic pid per process name: pids of two runs mean nothing to each other.
  const pids = new Map<string, number>();
  const samples: DiffSample[] = [];
  for (const side of stacks.values()) {
    let pid = pids.get(side.name);
    if (pid === undefined) {
      pid = pids.size + 1;
      pids.set(side.name, pid);
    }
    samples.push({
      pid, tid: pid, threadName: side.name, frames: side.frames,
      values: side.next.map((v, i) => v - (side.base[i] ?? 0)),
      baseValues: side.base, newValues: side.next,
    });
  }
  const totals = (list: readonly DiffSample[], pick: (s: DiffSample) => readonly number[]): number[] =>
    Array.from({ length: width }, (_, i) => list.reduce((sum, s) => sum + (pick(s)[i] ?? 0), 0));
  return {
    sampleTypes: next.sampleTypes,
    periodType: next.periodType,
    period: next.period,
    startTimeNs: next.startTimeNs,
    durationNs: next.durationNs,
    samples,
    processes: new Map([...pids].map(([name, pid]) => [pid, { pid, name, attributes: {} }])),
    // Both sides' losses stay visible, by side.
    drops: Object.fromEntries([
      ...Object.entries(base.drops).map(([reason, n]) => [`base_${reason}`, n] as const),
      ...Object.entries(next.drops).map(([reason, n]) => [`new_${reason}`, n] as const),
    ]),
    baseTotals: totals(samples, (s) => s.baseValues),
    newTotals: totals(samples, (s) => s.newValues),
  };
}
