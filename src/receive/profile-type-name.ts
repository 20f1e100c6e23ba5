/**
 * The name a received profile goes by (file names, Pyroscope's `__name__`),
 * from its sample type, after the names Pyroscope gives the Go runtime's
 * and its own agents' profiles.
 */

const byType: Readonly<Record<string, string>> = {
  cpu: 'process_cpu',
  samples: 'process_cpu',
  off_cpu: 'off_cpu',
  alloc_objects: 'memory',
  alloc_space: 'memory',
  inuse_objects: 'memory',
  inuse_space: 'memory',
  goroutine: 'goroutine',
  goroutines: 'goroutine',
  contentions: 'block',
  delay: 'block',
  wall: 'wall',
  exceptions: 'exceptions',
};

/** `process_cpu` for cpu and samples, `memory` for alloc_* and inuse_* types, ...; else the type itself, made label-safe. */
export function profileTypeName(sampleType: string): string {
  return byType[sampleType] ?? (sampleType.replace(/[^A-Za-z0-9_]/g, '_') || 'unknown');
}
