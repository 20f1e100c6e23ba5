/**
 * Received profiles kept until the interval ends, for sinks that write one
 * profile per kind and interval (local files): merged by name and sample
 * types, so a thousand requests a second make one file, not a thousand.
 * Bounded: past maxSamples rows the rest of the interval is counted, not kept.
 */
import type { ProcessMetadata, Profile, ProfileSample } from '../profile/model.js';
import type { ReceivedProfile } from './received-profiles.js';

/** Interval buffer of received profiles. */
export interface ReceivedAccumulator {
  /** Keeps what fits; returns the samples that did not. */
  add(profiles: readonly ReceivedProfile[]): number;
  /** The interval's merged profiles, one per name and sample types, and empties the buffer. */
  take(): { kind: string; profile: Profile }[];
}

interface Group {
  readonly kind: string;
  readonly first: Profile;
  readonly samples: ProfileSample[];
  readonly processes: Map<number, ProcessMetadata>;
  start: bigint;
  end: bigint;
}

/** Creates a buffer holding at most maxSamples sample rows per interval. */
export function createReceivedAccumulator(maxSamples = 200_000): ReceivedAccumulator {
  let groups = new Map<string, Group>();
  let held = 0;
  return {
    add(profiles) {
      let over = 0;
      for (const { name, profile } of profiles) {
        if (held + profile.samples.length > maxSamples) {
          over += profile.samples.length;
          continue;
        }
        const types = profile.sampleTypes.map((t) => `${t.type}/${t.unit}`).join(',');
        const key = `${name}\0${types}`;
        let g = groups.get(key);
        if (g === undefined) {
          g = { kind: `received-${name}`, first: profile, samples: [], processes: new Map(), start: profile.startTimeNs, end: profile.startTimeNs + profile.durationNs };
          groups.set(key, g);
        }
        for (const s of profile.samples) g.samples.push(s);
        for (const [pid, p] of profile.processes) if (!g.processes.has(pid)) g.processes.set(pid, p);
        if (profile.startTimeNs < g.start) g.start = profile.startTimeNs;
        if (profile.startTimeNs + profile.durationNs > g.end) g.end = profile.startTimeNs + profile.durationNs;
        held += profile.samples.length;
      }
      return over;
    },
    take() {
      const out = [...groups.values()].map((g) => ({
        kind: g.kind,
        profile: { ...g.first, samples: g.samples, processes: g.processes, startTimeNs: g.start, durationNs: g.end - g.start, drops: {} },
      }));
      groups = new Map();
      held = 0;
      return out;
    },
  };
}
