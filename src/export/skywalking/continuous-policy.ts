/**
 * Continuous profiling policies, as OAP sends them in the
 * `ContinuousProfilingPolicyQuery` command's `ServiceWithPolicyJSON` argument.
 */
import type { Command } from '../../gen/skywalking/common/Command_pb.js';
import { commandArg, type ProfilingTargetType } from './task-command.js';

/** What a policy item measures. */
export type MonitorType =
  | 'PROCESS_CPU'
  | 'PROCESS_THREAD_COUNT'
  | 'SYSTEM_LOAD'
  | 'HTTP_ERROR_RATE'
  | 'HTTP_AVG_RESPONSE_TIME';

/** One threshold: it fires when at least `count` of the last `period` samples reach it. */
export interface PolicyItem {
  readonly monitor: MonitorType;
  readonly threshold: number;
  readonly period: number;
  readonly count: number;
  readonly uriList: readonly string[];
  readonly uriRegex: string | undefined;
}

/** The items that start one kind of profiling. */
export interface TargetPolicy {
  readonly target: ProfilingTargetType;
  readonly items: readonly PolicyItem[];
}

/** Every policy of one service, at one version. */
export interface ServicePolicy {
  readonly serviceName: string;
  readonly uuid: string;
  readonly targets: readonly TargetPolicy[];
}

/** The command name OAP answers policy queries with. */
export const POLICY_COMMAND = 'ContinuousProfilingPolicyQuery';

const MONITORS = new Set<string>(['PROCESS_CPU', 'PROCESS_THREAD_COUNT', 'SYSTEM_LOAD', 'HTTP_ERROR_RATE', 'HTTP_AVG_RESPONSE_TIME']);
const TARGETS = new Set<string>(['ON_CPU', 'OFF_CPU', 'NETWORK']);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseItem(monitor: MonitorType, raw: unknown): PolicyItem | string {
  if (!isRecord(raw)) return 'not an object';
  const threshold = Number(raw['Threshold']);
  const period = Number(raw['Period']);
  const count = Number(raw['Count']);
  if (String(raw['Threshold'] ?? '').trim() === '' || !Number.isFinite(threshold)) return 'threshold is not a number';
  if (!Number.isInteger(period) || period <= 0) return 'period must be a positive integer';
  if (!Number.isInteger(count) || count <= 0) return 'count must be a positive integer';
  if (count > period) return 'count cannot exceed period';
  const uriList = Array.isArray(raw['URIList']) ? raw['URIList'].filter((u): u is string => typeof u === 'string') : [];
  const uriRegex = typeof raw['URIRegex'] === 'string' && raw['URIRegex'] !== '' ? raw['URIRegex'] : undefined;
  return { monitor, threshold, period, count, uriList, uriRegex };
}

/**
 * Parses the policies in a query answer. Invalid items are left out and
 * described in `problems`, as Rover skips them with a warning.
 * Throws "parsing continuous policies: ..." when the JSON itself is broken.
 */
export function parsePolicyCommand(command: Command): { policies: ServicePolicy[]; problems: string[] } {
  const json = commandArg(command, 'ServiceWithPolicyJSON');
  if (command.command !== POLICY_COMMAND || json === undefined) {
    throw new Error(`parsing continuous policies: unexpected command ${command.command}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw new Error(`parsing continuous policies: ${(err as Error).message}`);
  }
  if (!Array.isArray(raw)) throw new Error('parsing continuous policies: not a list');
  const policies: ServicePolicy[] = [];
  const problems: string[] = [];
  for (const entry of raw) {
    if (!isRecord(entry) || typeof entry['ServiceName'] !== 'string') {
      problems.push('entry without ServiceName');
      continue;
    }
    const serviceName = entry['ServiceName'];
    const targets: TargetPolicy[] = [];
    const profiling = isRecord(entry['Profiling']) ? entry['Profiling'] : {};
    for (const [target, checks] of Object.entries(profiling)) {
      if (!TARGETS.has(target) || !isRecord(checks)) {
        problems.push(`${serviceName}: unknown profiling type ${target}`);
        continue;
      }
      const items: PolicyItem[] = [];
      for (const [monitor, rawItem] of Object.entries(checks)) {
        if (!MONITORS.has(monitor)) {
          problems.push(`${serviceName}/${target}: unknown monitor type ${monitor}`);
          continue;
        }
        const item = parseItem(monitor as MonitorType, rawItem);
        if (typeof item === 'string') problems.push(`${serviceName}/${target}/${monitor}: ${item}`);
        else items.push(item);
      }
      targets.push({ target: target as ProfilingTargetType, items });
    }
    policies.push({ serviceName, uuid: typeof entry['UUID'] === 'string' ? entry['UUID'] : '', targets });
  }
  return { policies, problems };
}
