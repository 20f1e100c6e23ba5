/**
 * MESHPROF_RELABEL applied to one interval's profile, before any sink sees
 * it: every process's attributes rewritten, and the samples of processes a
 * keep/drop rule drops removed and counted as `relabel_dropped`.
 */
import { relabelAttributes, type RelabelRule } from '../discovery/relabel.js';
import type { ProcessMetadata, Profile } from './model.js';

/** The drop reason of samples whose process a keep or drop rule dropped. */
export const RELABEL_DROPPED = 'relabel_dropped';

/** The relabelled profile; the same object when there are no rules. */
export function relabelProfile(profile: Profile, rules: readonly RelabelRule[]): Profile {
  if (rules.length === 0) return profile;
  const processes = new Map<number, ProcessMetadata>();
  const dropped = new Set<number>();
  for (const [pid, meta] of profile.processes) {
    const attributes = relabelAttributes(meta.attributes, rules);
    if (attributes === undefined) dropped.add(pid);
    else processes.set(pid, { ...meta, attributes });
  }
  if (dropped.size === 0) return { ...profile, processes };
  const samples = profile.samples.filter((s) => !dropped.has(s.pid));
  // In the unit of the profile's first value (samples, or context switches), as the kernel's drops are.
  const lost = profile.samples.reduce((n, s) => n + (dropped.has(s.pid) ? s.values[0] ?? 0 : 0), 0);
  const drops = { ...profile.drops, [RELABEL_DROPPED]: (profile.drops[RELABEL_DROPPED] ?? 0) + lost };
  return { ...profile, samples, processes, drops };
}
