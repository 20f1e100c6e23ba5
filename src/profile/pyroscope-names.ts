/**
 * The names Pyroscope gives profile types (`__name__`), after its ingester
 * and the Go runtime's and its own agents' profiles: one table for
 * meshprof's own profiles, received OTLP profiles and the type suffix of a
 * legacy /ingest `name`.
 */
import type { Profile } from './model.js';

const byType: Readonly<Record<string, string>> = {
  cpu: 'process_cpu',
  samples: 'process_cpu',
  itimer: 'process_cpu',
  off_cpu: 'off_cpu',
  page_faults: 'page_faults',
  alloc_objects: 'memory',
  alloc_space: 'memory',
  inuse_objects: 'memory',
  inuse_space: 'memory',
  goroutine: 'goroutine',
  goroutines: 'goroutine',
  contentions: 'block',
  delay: 'block',
  block_count: 'block',
  block_duration: 'block',
  mutex_count: 'mutex',
  mutex_duration: 'mutex',
  wall: 'wall',
  exceptions: 'exceptions',
};

/** The Pyroscope name of a sample type (`process_cpu` for cpu and samples, `memory` for alloc_* and inuse_*, ...), or undefined when it has none. */
export function pyroscopeTypeName(sampleType: string): string | undefined {
  return Object.hasOwn(byType, sampleType) ? byType[sampleType] : undefined;
}

/** The name a received profile of one sample type goes by (files, `__name__`): its Pyroscope name, else the type itself, made label-safe. */
export function profileTypeName(sampleType: string): string {
  return pyroscopeTypeName(sampleType) ?? (sampleType.replace(/[^A-Za-z0-9_]/g, '_') || 'unknown');
}

/** The Pyroscope name of a profile of several sample types: the first that names something else than CPU (off_cpu, memory, page_faults, ...), else process_cpu. */
export function pyroscopeProfileName(profile: Pick<Profile, 'sampleTypes'>): string {
  for (const t of profile.sampleTypes) {
    const name = pyroscopeTypeName(t.type);
    if (name !== undefined && name !== 'process_cpu') return name;
  }
  return 'process_cpu';
}
