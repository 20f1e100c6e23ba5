/**
 * Test helper: records a process with a real collector (sampler, process
 * table, unwind tables, symbolizer) and reduces the profile to stacks of
 * function names, leaf first.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createCollector, type CollectorKind } from '../../src/agent/collector-factory.js';
import type { Profile } from '../../src/profile/model.js';

/** One distinct user+kernel stack of a process and its first value. */
export interface NamedStack {
  readonly names: readonly string[];
  /** The mapped file of each frame ('' when unknown). */
  readonly files: readonly string[];
  readonly count: number;
}

/** A recorded profile and its stacks of `pid`, most frequent first. */
export interface Recording {
  readonly profile: Profile;
  readonly stacks: readonly NamedStack[];
  readonly total: number;
  /** How long the collector said its maps may wait, just before the collect (ProfileCollector.drainEveryMs). */
  readonly drainEveryMs: number;
}

/**
 * Records `pids` for `ms` with the collector of `kind`; dwarfUnwind defaults
 * to true. `onStarted` runs once sampling is on (tables loaded), e.g. to start load.
 */
export async function record(
  kind: CollectorKind, pids: readonly number[], ms: number, dwarfUnwind = true, onStarted: () => void = () => {},
): Promise<Recording> {
  const collector = createCollector(kind, { targets: pids, frequencyHz: 199, dwarfUnwind });
  const t0 = performance.now();
  await collector.start();
  startMs = performance.now() - t0;
  onStarted();
  try {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      await sleep(Math.min(1000, until - Date.now()));
      collector.poll();
    }
    const drainEveryMs = collector.drainEveryMs;
    const profile = await collector.collect();
    const byNames = new Map<string, NamedStack>();
    let total = 0;
    for (const s of profile.samples) {
      if (!pids.includes(s.pid)) continue;
      const user = s.frames.filter((f) => f.kind !== 'kernel');
      const names = user.map((f) => f.functionName);
      const files = user.map((f) => f.mapping?.file ?? '');
      const key = names.join(';');
      const count = (byNames.get(key)?.count ?? 0) + (s.values[0] ?? 0);
      byNames.set(key, { names, files, count });
      total += s.values[0] ?? 0;
    }
    const stacks = [...byNames.values()].sort((a, b) => b.count - a.count);
    return { profile, stacks, total, drainEveryMs };
  } finally {
    collector.stop();
  }
}

/** How long the last record() took to start (load BPF, build and write the tables). */
export let startMs = 0;

/** The names up to and including `main`, or all of them when main is absent. */
export function toMain(names: readonly string[]): string[] {
  const i = names.indexOf('main');
  return i < 0 ? [...names] : names.slice(0, i + 1);
}
