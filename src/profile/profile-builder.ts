/**
 * Builds a Profile from what the stages before it made: the sampler's raw
 * batch (values, window, kernel drops), the symbolizer's names for each
 * stack, and a description of each process (process table + discovery).
 */
import type { ProcessInfo } from '../process/process-table.js';
import type { NamedStacks } from '../stacks/frames.js';
import type { ProcessMetadata } from '../stacks/process-metadata.js';
import type { DropCounts, RawStackBatch } from '../stacks/raw-stacks.js';
import type { Profile, ProfileSample } from './model.js';

/** Describes the process a sample came from; `comm` is the sample's thread name, for processes already gone. */
export type ProcessDescriber = (pid: number, comm: string) => ProcessMetadata;

/**
 * A describer over the process table: comm, executable and command line as
 * captured, then `enrich` (discovery's container, pod and service attributes).
 */
export function createProcessDescriber(
  processes: { get(pid: number): Pick<ProcessInfo, 'comm' | 'exePath' | 'cmdline'> | undefined },
  enrich?: (base: ProcessMetadata) => ProcessMetadata,
): ProcessDescriber {
  return (pid, comm) => {
    const p = processes.get(pid);
    const base: ProcessMetadata = {
      pid,
      name: p?.comm ?? comm,
      executablePath: p?.exePath,
      commandLine: p === undefined || p.cmdline.length === 0 ? undefined : p.cmdline.join(' '),
      attributes: {},
    };
    return enrich?.(base) ?? base;
  };
}

/** Adds `more` to `into`, reason by reason. */
export function addDrops(into: DropCounts, more: DropCounts): void {
  for (const [reason, n] of Object.entries(more)) if (n > 0) into[reason] = (into[reason] ?? 0) + n;
}

/**
 * One profile from one batch: `named.stacks[i]` names `batch.samples[i]`.
 * Drops are the batch's (kernel) plus the naming's; each process is described once.
 */
export function buildProfile(batch: RawStackBatch, named: NamedStacks, describe: ProcessDescriber): Profile {
  if (named.stacks.length !== batch.samples.length) {
    throw new Error(`building a profile: ${named.stacks.length} named stacks for ${batch.samples.length} samples`);
  }
  const processes = new Map<number, ProcessMetadata>();
  const samples: ProfileSample[] = batch.samples.map((s, i) => {
    if (!processes.has(s.tgid)) processes.set(s.tgid, describe(s.tgid, s.comm));
    return { pid: s.tgid, tid: s.tid, threadName: s.comm, frames: named.stacks[i] ?? [], values: s.values.slice() };
  });
  const drops: DropCounts = { ...batch.drops };
  addDrops(drops, named.drops);
  return {
    sampleTypes: batch.valueTypes,
    periodType: batch.periodType,
    period: batch.period,
    startTimeNs: batch.startTimeNs,
    durationNs: batch.durationNs,
    samples,
    processes,
    drops,
  };
}
