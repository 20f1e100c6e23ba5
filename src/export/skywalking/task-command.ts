/**
 * The profiling task OAP sends as an `EBPFProfilingTaskQuery` command, whose
 * arguments are all strings (Rover's pkg/profiling/task/base reads the same keys).
 */
import type { Command } from '../../gen/skywalking/common/Command_pb.js';

/** What a task profiles. */
export type ProfilingTargetType = 'ON_CPU' | 'OFF_CPU' | 'NETWORK';

/** A parsed profiling task; times are Unix milliseconds. */
export interface ProfilingTask {
  readonly taskId: string;
  /** OAP process ids; Rover's flame graphs use the first. */
  readonly processIds: readonly string[];
  readonly updateTime: number;
  readonly startTime: number;
  readonly triggerType: string;
  readonly targetType: ProfilingTargetType;
  /** How long to profile once started (FixedTriggerDuration, sent in seconds). */
  readonly durationMs: number;
  /** NETWORK tasks' sampling rules (ExtensionConfigJSON's NetworkSamplings); empty when none. */
  readonly networkSamplings: readonly NetworkSamplingRule[];
}

/**
 * Which requests of a NETWORK task are sampled one by one, as Rover reads
 * ExtensionConfigJSON: a rule with no URIRegex is the default; the last
 * matching URIRegex wins.
 */
export interface NetworkSamplingRule {
  readonly uriRegex: RegExp | undefined;
  /** Requests at least this long, milliseconds; undefined samples none for slowness. */
  readonly minDurationMs: number | undefined;
  readonly when4xx: boolean;
  readonly when5xx: boolean;
}

/** The command name OAP uses for profiling tasks. */
export const PROFILING_TASK_COMMAND = 'EBPFProfilingTaskQuery';

/** Value of one argument of a command, undefined when absent. */
export function commandArg(command: Command, key: string): string | undefined {
  return command.args.find((a) => a.key === key)?.value;
}

function required(command: Command, key: string): string {
  const v = commandArg(command, key);
  if (v === undefined) throw new Error(`parsing profiling task: missing argument ${key}`);
  return v;
}

function integer(command: Command, key: string): number {
  const raw = required(command, key);
  const n = Number(raw);
  if (!Number.isFinite(n) || !/^-?\d+$/.test(raw.trim())) throw new Error(`parsing profiling task: ${key} "${raw}" is not an integer`);
  return n;
}

/** The NetworkSamplings of ExtensionConfigJSON (absent or '{}' gives none). */
export function parseNetworkSamplings(json: string | undefined): NetworkSamplingRule[] {
  if (json === undefined || json.trim() === '') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (err) {
    throw new Error(`parsing profiling task: ExtensionConfigJSON is not JSON: ${(err as Error).message}`);
  }
  const list = (parsed as { NetworkSamplings?: unknown } | null)?.NetworkSamplings;
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw new Error('parsing profiling task: ExtensionConfigJSON NetworkSamplings is not a list');
  return list.map((raw: unknown, i): NetworkSamplingRule => {
    const r = (raw ?? {}) as Record<string, unknown>;
    let uriRegex: RegExp | undefined;
    if (typeof r.URIRegex === 'string') {
      try {
        uriRegex = new RegExp(r.URIRegex);
      } catch (err) {
        throw new Error(`parsing profiling task: NetworkSamplings[${i}].URIRegex: ${(err as Error).message}`);
      }
    }
    const min = r.MinDuration;
    if (min !== undefined && min !== null && (typeof min !== 'number' || !Number.isFinite(min))) {
      throw new Error(`parsing profiling task: NetworkSamplings[${i}].MinDuration is not a number`);
    }
    return { uriRegex, minDurationMs: typeof min === 'number' ? min : undefined, when4xx: r.When4xx === true, when5xx: r.When5xx === true };
  });
}

/** Parses one task command; throws "parsing profiling task: ..." on anything malformed. */
export function parseProfilingTaskCommand(command: Command): ProfilingTask {
  if (command.command !== PROFILING_TASK_COMMAND) {
    throw new Error(`parsing profiling task: unexpected command ${command.command}`);
  }
  const targetType = required(command, 'TargetType');
  if (targetType !== 'ON_CPU' && targetType !== 'OFF_CPU' && targetType !== 'NETWORK') {
    throw new Error(`parsing profiling task: unknown TargetType ${targetType}`);
  }
  const triggerType = required(command, 'TriggerType');
  if (triggerType !== 'FIXED_TIME') throw new Error(`parsing profiling task: unknown TriggerType ${triggerType}`);
  const processIds = required(command, 'ProcessId')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (processIds.length === 0) throw new Error('parsing profiling task: ProcessId is empty');
  return {
    taskId: required(command, 'TaskId'),
    processIds,
    updateTime: integer(command, 'TaskUpdateTime'),
    startTime: integer(command, 'TaskStartTime'),
    triggerType,
    targetType,
    durationMs: integer(command, 'FixedTriggerDuration') * 1_000,
    networkSamplings: targetType === 'NETWORK' ? parseNetworkSamplings(commandArg(command, 'ExtensionConfigJSON')) : [],
  };
}
