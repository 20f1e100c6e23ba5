/**
 * The sampler registry: one line per kind of profile (PROFILE_KINDS). The
 * factory builds samplers from it, and the settings (`MESHPROF_PROFILES`,
 * `record --type`) accept exactly those kinds.
 */
import { createOffCpuSampler } from '../samplers/offcpu-sampler.js';
import type { OffCpuState } from '../samplers/offcpu-layout.js';
import { createOnCpuSampler } from '../samplers/oncpu-sampler.js';
import { createNetworkSampler, type NetworkSampler } from '../samplers/network-sampler.js';
import { createMemorySampler, type MemoryProcessView } from '../samplers/memory-sampler.js';
import { createPageFaultSampler } from '../samplers/pagefault-sampler.js';
import type { SharedWalkerMaps } from '../samplers/sampler-maps.js';
import type { StackSampler } from '../samplers/stack-sampler.js';
import type { TargetSelection } from '../stacks/raw-stacks.js';
import type { KallsymsSource } from '../symbolize/kallsyms.js';
import type { ProfileKind } from './profile-kinds.js';
import { type Logger } from '../log/logger.js';

export type { ProfileKind };

/** Where the pipeline stages write what they have to say. */

/** Sampler settings; each kind reads its own. */
export interface SamplerSettings {
  readonly frequencyHz?: number;
  readonly includeIdle?: boolean;
  readonly minBlockNs?: bigint;
  readonly maxBlockNs?: bigint | undefined;
  readonly state?: OffCpuState;
  /** Memory: mean bytes between sampled allocations (default 512 KiB; 1: every one). */
  readonly memoryRateBytes?: number;
}

/** What every sampler kind is made with besides its settings. */
export interface SamplerParts {
  readonly targets: TargetSelection;
  readonly log?: Logger;
  /** The walker's maps, when the sampler walks .eh_frame tables. */
  readonly unwindMaps?: SharedWalkerMaps;
  readonly kallsyms: KallsymsSource;
  /** Which files each process maps, for samplers that probe them (memory). */
  readonly processView: MemoryProcessView;
}

function walker(p: SamplerParts): { unwindMaps?: SharedWalkerMaps } {
  return p.unwindMaps ? { unwindMaps: p.unwindMaps } : {};
}

/** Makes a kind's sampler. */
export type SamplerMaker = (settings: SamplerSettings, parts: SamplerParts) => StackSampler;

/** One registration line per sampler kind. */
export const samplerKinds: { readonly [K in ProfileKind]: SamplerMaker } = {
  oncpu: (s: SamplerSettings, p: SamplerParts): StackSampler => createOnCpuSampler({
    targets: p.targets, frequencyHz: s.frequencyHz ?? 99, includeIdle: s.includeIdle ?? false, ...(p.log ? { log: p.log } : {}), ...walker(p),
  }),
  offcpu: (s: SamplerSettings, p: SamplerParts): StackSampler => createOffCpuSampler({
    targets: p.targets, minBlockNs: s.minBlockNs ?? 1000n, state: s.state ?? 'all', ...(p.log ? { log: p.log } : {}), ...walker(p),
    ...(s.maxBlockNs !== undefined ? { maxBlockNs: s.maxBlockNs } : {}),
    kernelSymbolName: (a) => p.kallsyms.table()?.lookup(a)?.name,
  }),
  memory: (s: SamplerSettings, p: SamplerParts): StackSampler => createMemorySampler({
    targets: p.targets, processes: p.processView, rateBytes: s.memoryRateBytes ?? 512 * 1024, ...(p.log ? { log: p.log } : {}), ...walker(p),
  }),
  'page-faults': (_s: SamplerSettings, p: SamplerParts): StackSampler => createPageFaultSampler({
    targets: p.targets, ...(p.log ? { log: p.log } : {}), ...walker(p),
  }),
};

/** The network sampler kind (metrics, not stacks: it feeds a NetworkCollector, not the profile cycle). */
export const makeNetworkSampler = (p: Pick<SamplerParts, 'targets' | 'log'> & { requestStacksHz?: number }): NetworkSampler =>
  createNetworkSampler({ targets: p.targets, ...(p.log ? { log: p.log } : {}), ...(p.requestStacksHz !== undefined ? { requestStacksHz: p.requestStacksHz } : {}) });
