/**
 * The profiling task OAP sends as an `EBPFProfilingTaskQuery` command, whose
 * arguments are all strings (Rover's pkg/profiling/task/base reads the same keys).
 */
import type { Command } from '../../gen/skywalking/common/Command_pb.js';

/** What a task profiles. NETWORK is parsed so it can be refused by name. */
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
  };
}
