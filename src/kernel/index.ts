/** The kernel stage: the only code that touches build/meshprof.node. */
export { openBpfObject } from './bpf-object.js';
export type { BpfLink, BpfObject, BpfObjectFactory, BpfRingBuffer, OpenBpfObjectOptions, UprobeTarget } from './bpf-object.js';
export { createBpfMap, MapType, UpdateFlags } from './bpf-map.js';
export type { BpfMap, MapEntries, MapHandle, OwnedBpfMap, OwnedMapSpec } from './bpf-map.js';
export { openOwnedMap, openRingBuffer } from './owned-map.js';
export { forEachRingRecord, packRingRecords, readRingRecords, ringRecordViews } from './ring-records.js';
export type { RingRecords } from './ring-records.js';
export { createWakeFd, waitReadable, watchReadable } from './wait.js';
export { releaseFreedNativeMemory } from './native-memory.js';
export type { FdWatch, WakeFd } from './wait.js';
export { onlineCpus, parseCpuList, possibleCpus } from './cpus.js';
export { BpfError, errnoName, ResourceLimitError, toResourceLimitError, UnsupportedFeatureError } from './errors.js';
export { buildPath, bundledWorkerScript, packageRoot, runningFromBundle } from './package-root.js';
export {
  parseKernelRelease, probeBpfLoop, probeBpfSyscall, probeBtf, probeCapabilities, probeCpuClock, probeFentry,
  probeKernelVersion, probeKprobes, probeRawTp, probeTpBtf, probeTracefs, probeUprobes, requireStackWalker, runFeatureProbes,
} from './feature-probes.js';
export type { FeatureCheck } from './feature-probes.js';
export { libbpfLogText, parseLibbpfLog } from './libbpf-log.js';
export type { LibbpfLevel, LibbpfMessage } from './libbpf-log.js';
export { capabilities, effectiveCapabilities, missingProfilingCapabilities, requireProfilingPrivileges } from './privileges.js';
export type { CapabilityName } from './privileges.js';
