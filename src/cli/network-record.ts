import { hostname } from 'node:os';
import { createNetworkCollectorFor } from '../agent/collector-factory.js';
import { discoveryConfigFromEnv } from '../config/discovery-env.js';
import { formatDurationMs } from '../config/duration.js';
import { readNetworkEnv } from '../config/network-env.js';
import { startDiscoveryService } from '../discovery/discovery-service.js';
import { networkFormatFromFileName, type NetworkFileFormat } from '../export/write-network-file.js';
import { requireProfilingPrivileges } from '../kernel/privileges.js';
import { createLogger } from '../log/logger.js';
import { requestErrorType, type NetworkReport } from '../profile/network-report.js';
import { parseDurationFlag, parsePidList } from './parse-flags.js';
import { checkTargetPids } from './target-pids.js';
import { readOutputModeEnv } from '../config/output-env.js';
import { createProgressLine } from './progress-line.js';
import { checkOutputFlag } from './output-path.js';
import { UsageError } from './usage-error.js';

/** The flags `record --type network` reads. */
export interface NetworkRecordOptions {
  pid?: string[];
  all?: boolean;
  duration: string;
  output: string;
  format?: string;
}

const formats: readonly NetworkFileFormat[] = ['json', 'html', 'otlp', 'otlp-json'];

function summary(report: NetworkReport): string {
  const requests = report.http.reduce((n, p) => n + p.count, 0);
  const failed = report.http.filter((p) => requestErrorType(p) !== undefined).reduce((n, p) => n + p.count, 0);
  const bytes = report.tcp.reduce((n, f) => n + f.bytesSent + f.bytesReceived, 0);
  const drops = Object.entries(report.drops).filter(([, n]) => n > 0).map(([k, n]) => `${k}=${n}`).join(', ') || 'none';
  return `${requests} HTTP exchanges (${failed} failed or unanswered, ${report.notable.length} slow/failed kept), ` +
    `${bytes} TCP bytes, from ${report.processes.size} process${report.processes.size === 1 ? '' : 'es'}; dropped: ${drops}`;
}

/** `meshprof record --type network`: follow HTTP and TCP for a while, then write one metrics file. */
export async function runNetworkRecord(opts: NetworkRecordOptions): Promise<number> {
  const pids = parsePidList(opts.pid);
  if (opts.all === true && pids.length > 0) throw new UsageError('--all and --pid exclude each other: pass one of them');
  const durationMs = parseDurationFlag('--duration', opts.duration);
  const format = (opts.format as NetworkFileFormat | undefined) ?? networkFormatFromFileName(opts.output);
  if (format === undefined || !formats.includes(format)) {
    throw new UsageError(`network reports are written as .json, .html, .otlp.json or .otlp.pb: end ${opts.output} in one of them, or pass --format json|html|otlp|otlp-json`);
  }
  for (const warning of checkTargetPids(pids)) process.stderr.write(`meshprof: ${warning}\n`);
  const settings = readNetworkEnv(process.env);
  const discoveryConfig = discoveryConfigFromEnv(process.env);
  const outputMode = readOutputModeEnv(process.env);
  await checkOutputFlag(opts.output);
  requireProfilingPrivileges();

  const log = createLogger((level, text) => { if (level === 'warn' || level === 'error') process.stderr.write(`meshprof: ${text}\n`); });
  const discovery = await startDiscoveryService(discoveryConfig, log, process.env);
  const collector = createNetworkCollectorFor({
    targets: pids.length > 0 ? pids : discovery.currentTargets(),
    describeProcess: (base) => discovery.describeProcess(base),
    slowThresholdNs: settings.slowThresholdNs,
    paths: settings.paths,
    maxPathsPerProcess: settings.maxPathsPerProcess,
    tls: settings.tls,
    requestHeadBytes: settings.requestHeadBytes,
    log,
  });
  const progress = createProgressLine(process.stderr, 'HTTP exchanges');
  let interrupted = false;
  const onSigint = (): void => { interrupted = true; };
  process.once('SIGINT', onSigint);
  try {
    await collector.start();
    if (pids.length === 0) discovery.followTargets((t) => collector.setTargets(t));
    const started = Date.now();
    process.stderr.write(`recording HTTP and TCP of ${pids.length > 0 ? `pid ${pids.join(',')}` : 'all processes'} for ${formatDurationMs(durationMs)} into ${opts.output}\n`);
    while (!interrupted && Date.now() - started < durationMs) {
      await new Promise((r) => setTimeout(r, Math.min(1000, durationMs - (Date.now() - started))));
      progress.update(Math.max(0, durationMs - (Date.now() - started)), collector.poll());
    }
    const report = collector.collect();
    progress.done();
    const { writeNetworkFile } = await import('../export/write-network-file.js');
    await writeNetworkFile(opts.output, format, report, { hostName: hostname(), mode: outputMode });
    process.stderr.write(`wrote ${opts.output} (${format}): ${summary(report)}${interrupted ? ' (stopped early)' : ''}\n`);
    return 0;
  } finally {
    process.removeListener('SIGINT', onSigint);
    collector.stop();
    await discovery.stop();
  }
}
