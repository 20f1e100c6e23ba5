import { createCollector, type CollectorKind } from '../agent/collector-factory.js';
import type { RecordKind } from '../profile/profile-kinds.js';
import { startDiscoveryService } from '../discovery/discovery-service.js';
import { discoveryConfigFromEnv } from '../config/discovery-env.js';
import { formatDurationMs } from '../config/duration.js';
import { requireProfilingPrivileges } from '../kernel/privileges.js';
import type { Profile } from '../profile/model.js';
import type { TargetSelection } from '../stacks/raw-stacks.js';
import { formatFromFileName, type OutputFormat } from './output-format.js';
import { parseByteSizeFlag, parseDurationFlag, parseDurationNsFlag, parseIntFlag, parsePidList } from './parse-flags.js';
import { MAX_MEMORY_RATE } from '../samplers/memory-sampler.js';
import { createProgressLine } from './progress-line.js';
import { checkTargetPids } from './target-pids.js';
import { checkOutputFlag } from './output-path.js';
import { UsageError } from './usage-error.js';
import { createLogger } from '../log/logger.js';
import { readTableCacheEnv } from '../config/table-cache-env.js';
import { readOutputModeEnv } from '../config/output-env.js';
import { splitDrops } from '../stacks/drop-reasons.js';
import { createDrainSchedule, DRAIN_WAKE_MS } from '../profile/drain-schedule.js';

/** Flags of `meshprof record`, as commander hands them over. */
export interface RecordOptions {
  pid?: string[];
  all?: boolean;
  duration: string;
  frequency: string;
  output: string;
  format?: OutputFormat | 'json';
  type: RecordKind;
  value?: 'duration' | 'switches' | 'inuse_space' | 'inuse_objects' | 'alloc_space' | 'alloc_objects';
  minBlock: string;
  maxBlock?: string;
  state: 'all' | 'sleep' | 'preempt';
  includeIdle: boolean;
  keepMangled: boolean;
  lineInfo: boolean;
  unwind: 'eh-frame' | 'frame-pointers';
  memoryRate: string;
}

/** What the progress and summary lines count, per kind: the first value of its samples. */
const COUNTED: Record<CollectorKind, string> = { oncpu: 'samples', offcpu: 'switches', memory: 'allocations', 'page-faults': 'page faults' };

function selectedCount(targets: TargetSelection): string {
  if (targets === 'all') return 'all';
  if (targets === 'none' || targets.length === 0) return 'none';
  return `${targets.length} process${targets.length === 1 ? '' : 'es'}: ${targets.slice(0, 8).join(',')}`;
}

function totalOf(profile: Profile, index: number): number {
  let total = 0;
  for (const s of profile.samples) total += s.values[index] ?? 0;
  return total;
}

/** `dropped: ...` (samples lost), then `kept with degraded stacks: ...` when any were. */
function describeDrops(profile: Profile): string {
  const { dropped, degraded } = splitDrops(profile.drops);
  const list = (counts: Record<string, number>): string => Object.entries(counts).map(([reason, n]) => `${reason}=${n}`).join(', ');
  const lost = Object.keys(dropped).length === 0 ? 'none' : list(dropped);
  return Object.keys(degraded).length === 0 ? lost : `${lost}; kept with degraded stacks: ${list(degraded)}`;
}

const FOLDED_VALUES: Record<CollectorKind, readonly string[]> = {
  oncpu: ['samples'],
  offcpu: ['switches', 'duration'],
  memory: ['alloc_objects', 'alloc_space', 'inuse_objects', 'inuse_space'],
  'page-faults': ['page_faults'],
};

/** Which sample value folded output prints: --value, else the kind's default (blocked time, in-use bytes). */
function foldedValueIndex(kind: CollectorKind, value: RecordOptions['value']): number {
  const names = FOLDED_VALUES[kind];
  if (value === undefined) return kind === 'offcpu' ? 1 : kind === 'memory' ? 3 : 0;
  const i = names.indexOf(value);
  if (i < 0) throw new UsageError(`--value ${value} does not apply to --type ${kind}: use ${names.length > 1 ? names.join(', ') : 'no --value'}`);
  return i;
}

function describeKind(kind: CollectorKind, frequencyHz: number, memoryRateBytes: number): string {
  if (kind === 'oncpu') return `on-CPU samples at ${frequencyHz} Hz`;
  if (kind === 'offcpu') return 'off-CPU switches';
  if (kind === 'page-faults') return 'user page faults';
  return memoryRateBytes === 1 ? 'every allocation' : `allocations sampled every ${memoryRateBytes} bytes`;
}

/** `meshprof record`: sample for a while, then write one profile file. */
export async function runRecordCommand(opts: RecordOptions): Promise<number> {
  if (opts.type === 'network') return (await import('./network-record.js')).runNetworkRecord(opts);
  const type = opts.type;
  const pids = parsePidList(opts.pid);
  if (opts.all === true && pids.length > 0) throw new UsageError('--all and --pid exclude each other: pass one of them');
  const durationMs = parseDurationFlag('--duration', opts.duration);
  const frequencyHz = parseIntFlag('--frequency', opts.frequency, 1, 10_000);
  const minBlockNs = parseDurationNsFlag('--min-block', opts.minBlock);
  const memoryRateBytes = parseByteSizeFlag('--memory-rate', opts.memoryRate, 1, MAX_MEMORY_RATE);
  const maxBlockNs = opts.maxBlock === undefined ? undefined : parseDurationNsFlag('--max-block', opts.maxBlock);
  if (maxBlockNs !== undefined && maxBlockNs < minBlockNs) throw new UsageError(`--max-block ${opts.maxBlock} is below --min-block ${opts.minBlock}: raise it`);
  if (opts.format === 'json') throw new UsageError('--format json is for --type network only: profiles are pprof, folded, html, otlp or otlp-json');
  const valueIndex = foldedValueIndex(opts.type, opts.value);
  const format = opts.format ?? formatFromFileName(opts.output);
  if (format === undefined && opts.output === '-') throw new UsageError('-o - (stdout) has no name to tell the format by: pass --format, e.g. -f folded or -f pprof');
  if (format === undefined) {
    throw new UsageError(`cannot tell the format of ${opts.output} from its name: end it in .pb.gz, .pprof, .folded, .html, .otlp.pb or .otlp.json, or pass --format`);
  }
  for (const warning of checkTargetPids(pids)) process.stderr.write(`meshprof: ${warning}\n`);
  // MESHPROF_TARGET_*, MESHPROF_KUBERNETES, ...: every bad one reported before any BPF is loaded.
  const discoveryConfig = discoveryConfigFromEnv(process.env);
  const tableCache = readTableCacheEnv(process.env);
  const outputMode = readOutputModeEnv(process.env);
  await checkOutputFlag(opts.output);
  requireProfilingPrivileges();

  // Warnings and errors go to stderr; a recording's progress line is its only other output.
  const log = createLogger((level, text) => { if (level === 'warn' || level === 'error') process.stderr.write(`meshprof: ${text}\n`); });
  const discovery = await startDiscoveryService(discoveryConfig, log, process.env);
  const collector = createCollector(type, {
    targets: pids.length > 0 ? pids : discovery.currentTargets(),
    describeProcess: (base) => discovery.describeProcess(base),
    keepMangled: opts.keepMangled,
    lineInfo: opts.lineInfo,
    dwarfUnwind: opts.unwind !== 'frame-pointers',
    tableCache,
    frequencyHz,
    includeIdle: opts.includeIdle,
    minBlockNs,
    maxBlockNs,
    state: opts.state,
    memoryRateBytes,
    log,
  });
  const progress = createProgressLine(process.stderr, COUNTED[opts.type]);
  let interrupted = false;
  const onSigint = (): void => { interrupted = true; };
  process.once('SIGINT', onSigint);
  await collector.start();
  if (pids.length === 0) discovery.followTargets((t) => collector.setTargets(t));
  const started = Date.now();
  const what = pids.length > 0 ? `pid ${pids.join(',')}` : discovery.selective ? `the processes MESHPROF_TARGET_*/MESHPROF_EXCLUDE_* select (now ${selectedCount(discovery.currentTargets())})` : 'all processes';
  process.stderr.write(
    `recording ${describeKind(opts.type, frequencyHz, memoryRateBytes)} of ${what} for ${formatDurationMs(durationMs)} into ${opts.output}\n`,
  );
  try {
    // The agent's drain cadence (the maps as often as they need while exec
    // tracking reads new programs), except that a terminal's progress line
    // counts every second: the count only moves at a drain.
    const schedule = createDrainSchedule([collector], {
      mayWait: () => !progress.live && collector.tracksExecs && !discovery.selective,
    });
    while (!interrupted && Date.now() - started < durationMs) {
      await new Promise((r) => setTimeout(r, Math.min(DRAIN_WAKE_MS, durationMs - (Date.now() - started))));
      for (const c of schedule.due(performance.now())) c.poll();
      progress.update(Math.max(0, durationMs - (Date.now() - started)), collector.samplesSoFar);
    }
    const profile = await collector.collect();
    progress.done();
    // Imported only now: the encoders are not needed before the recording line.
    const { writeProfileFile } = await import('../export/write-profile-file.js');
    await writeProfileFile(opts.output, format, profile, { valueIndex, title: `meshprof ${opts.type} profile`, mode: outputMode });
    const processes = new Set(profile.samples.map((s: { pid: number }) => s.pid)).size;
    // Tenths of a second: finer would be noise from the final collect.
    const took = formatDurationMs(Math.round((Date.now() - started) / 100) * 100);
    process.stderr.write(
      `wrote ${opts.output} (${format}): ${totalOf(profile, 0)} ${COUNTED[opts.type]} ` +
      `from ${processes} process${processes === 1 ? '' : 'es'} in ${took}${interrupted ? ' (stopped early)' : ''}; dropped: ${describeDrops(profile)}\n`,
    );
    return 0;
  } finally {
    process.removeListener('SIGINT', onSigint);
    collector.stop();
    await discovery.stop();
  }
}
