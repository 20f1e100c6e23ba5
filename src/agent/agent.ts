import { performance } from 'node:perf_hooks';
import type { AgentConfig } from '../config/agent-config.js';
import { resolveMeshprofEnv } from '../config/meshprof-env.js';
import type { DiscoveryConfig } from '../discovery/discovery.js';
import type { SelectorProcesses, TargetSet } from '../discovery/target-selector.js';
import { startSelfTelemetry, type SelfTelemetry } from '../export/self-telemetry.js';
import type { SkyWalkingExporter } from '../export/skywalking/index.js';
import type { SkyWalkingEnvConfig } from '../config/skywalking-env.js';
import { releaseFreedNativeMemory, requireProfilingPrivileges } from '../kernel/index.js';
import type { Profile } from '../profile/model.js';
import { createAgentMetrics, type AgentMetrics } from '../export/agent-metrics.js';
import { createCollector, createProcessServices, type ProcessServices } from './collector-factory.js';
import { startDiscoveryService, type DiscoveryService } from '../discovery/discovery-service.js';
import { createLocalFilesSink, LocalProfileFiles } from '../export/local-profile-files.js';
import { ReadinessConditions, startMetricsServer, type MetricsServer } from '../export/metrics-server.js';
import { createAgentLogger } from '../log/agent-logger.js';
import { relabelProfile } from '../profile/relabel-profile.js';
import type { RelabelRule } from '../discovery/relabel.js';
import { checkLocalPaths } from '../config/local-paths.js';
import { unknownVariables } from '../config/known-variables.js';
import { splitDrops } from '../stacks/drop-reasons.js';
import type { ProfileCollector } from '../profile/profile-collector.js';
import type { Unsubscribe } from '../process/listener-set.js';
import { createDrainSchedule, DRAIN_WAKE_MS, DrainTimer } from '../profile/drain-schedule.js';
import type { ProfileSink } from '../export/profile-sink.js';
import type { NetworkService } from './network-service.js';
import type { NetworkSettings } from '../config/network-env.js';
import { hasProfileExporter, type ExportersEnvConfig } from '../config/exporters-env.js';
import type { SymbolCache } from '../symbolize/symbol-cache.js';
import { createFileSymbolCache } from '../symbolize/symbol-table-jobs.js';
import { type Logger } from '../log/logger.js';
import { readTableCacheEnv } from '../config/table-cache-env.js';
import type { TableCacheSettings } from '../unwind/table-disk-cache.js';
import type { ReceiverConfig } from '../config/receiver-env.js';
import type { ReceiverService } from './receiver-service.js';

export type { ProfileSink } from '../export/profile-sink.js';

type Env = Readonly<Record<string, string | undefined>>;


function summarize(profile: Profile): Record<string, unknown> {
  const totals = profile.sampleTypes.map((t, i) => `${profile.samples.reduce((a, s) => a + (s.values[i] ?? 0), 0)} ${t.type}/${t.unit}`);
  const { dropped, degraded } = splitDrops(profile.drops);
  return { stacks: profile.samples.length, processes: new Set(profile.samples.map((s) => s.pid)).size, totals, dropped, degraded };
}

/** The process table as discovery's selector reads it: one /proc scan for both. */
function livePidsOf(table: ProcessServices['processes']): SelectorProcesses {
  return {
    livePids: () => { const pids: number[] = []; for (const p of table.all()) if (!p.exited) pids.push(p.pid); return pids; },
    onProcessAdded: (listener) => table.onProcessAdded(() => listener()),
  };
}

/** Whether a sampler selection includes `pid`. */
function selects(targets: TargetSet, pid: number): boolean {
  return targets === 'all' || (targets !== 'none' && targets.includes(pid));
}

/** Everything the agent runs besides its collectors, built from the environment before any BPF is loaded. */
interface Wiring {
  readonly config: AgentConfig;
  readonly discoveryConfig: DiscoveryConfig;
  readonly skywalkingConfig: SkyWalkingEnvConfig | undefined;
  readonly receiverConfig: ReceiverConfig | undefined;
  readonly log: Logger;
  readonly metrics: AgentMetrics;
  readonly telemetry: SelfTelemetry;
  readonly sinks: ProfileSink[];
  readonly network: NetworkSettings;
  readonly exporters: ExportersEnvConfig;
  /** Every file's symbols, for the collectors and SkyWalking's tasks alike: read once, in one worker. */
  readonly symbolCache: SymbolCache;
  /** MESHPROF_CACHE_DIR and its bound, read once for the symbol and unwind tables. */
  readonly tableCache: TableCacheSettings;
  /** MESHPROF_RELABEL, applied to each interval's profiles before metrics and sinks. */
  readonly relabel: readonly RelabelRule[];
}

/**
 * Reads and validates every setting first, so bad variables fail, all listed
 * together, before anything (logger, metrics, telemetry, exporters) starts.
 */
async function wire(env: Env, extraSinks: readonly ProfileSink[]): Promise<Wiring> {
  const settings = resolveMeshprofEnv(env);
  const config = settings.agent;
  const files = config.outputDir === undefined || config.localFormats.length === 0
    ? undefined
    : new LocalProfileFiles(config.outputDir, config.localFormats, { mode: config.outputMode, maxBytes: config.outputMaxBytes });
  // A missing /proc or an unwritable output directory fails now, not at the first interval.
  checkLocalPaths(env, config.procRoot, files && config.outputDir !== undefined ? { dir: config.outputDir, files } : undefined);
  const log = createAgentLogger({ level: config.logLevel, format: config.logFormat });
  // A misspelled variable is otherwise silently ignored.
  for (const message of unknownVariables(env)) log.warn(message);
  const metrics = createAgentMetrics();
  // OTEL_TRACES_EXPORTER was checked above; the SDK reads its other OTEL_* variables itself.
  const telemetry = startSelfTelemetry(env);
  try {
    // Exporters load their gRPC and protobuf code only when configured: an agent writing local files never pays for it.
    const exporterSinks = hasProfileExporter(settings.exporters)
      ? (await import('../export/exporter-sinks.js')).createExporterSinks(settings.exporters, { config, metrics: metrics.export, log, telemetry })
      : [];
    const sinks = [files && createLocalFilesSink(files, log, metrics.export), ...exporterSinks, ...extraSinks]
      .filter((s): s is ProfileSink => s !== undefined);
    const tableCache = readTableCacheEnv(env);
    const symbolCache = createFileSymbolCache(log, tableCache);
    return {
      config, discoveryConfig: settings.discovery, skywalkingConfig: settings.skywalking, receiverConfig: settings.receiver, log, metrics, telemetry, sinks, symbolCache, tableCache,
      network: settings.network, exporters: settings.exporters, relabel: settings.relabel,
    };
  } catch (err) {
    // The SDK's exporter would otherwise keep the process alive after the config error.
    void telemetry.shutdown();
    throw err;
  }
}

/**
 * The controller: starts the samplers, the exporters, SkyWalking and the
 * metrics server; collects once per interval, hands each profile to every
 * sink, reports what was dropped, and flushes the last interval on
 * SIGTERM/SIGINT within MESHPROF_SHUTDOWN_TIMEOUT.
 */
export async function runAgent(env: Env, extraSinks: readonly ProfileSink[] = []): Promise<number> {
  const { config, discoveryConfig, skywalkingConfig, receiverConfig, log, metrics, telemetry, sinks, symbolCache, tableCache, network: networkSettings, exporters, relabel } = await wire(env, extraSinks);
  requireProfilingPrivileges();

  const collectors: { kind: string; collector: ProfileCollector }[] = [];
  let metricsServer: MetricsServer | undefined;
  let discovery: DiscoveryService | undefined;
  let skywalking: SkyWalkingExporter | undefined;
  let receiver: ReceiverService | undefined;
  let network: NetworkService | undefined;
  const unsubscribes: Unsubscribe[] = [];
  const stop = new AbortController();
  const onSignal = (signal: string): void => { log.info({ signal }, 'stopping: flushing the last interval'); stop.abort(); };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));

  let services: ProcessServices | undefined;
  // The totals as they are before anything is lost: no line until something is.
  let lastDrops = JSON.stringify({ dropped: metrics.drops(), exportDropped: metrics.export.drops(), receiverRejected: {} });
  const deliver = (): Promise<void> => telemetry.span('collection cycle', async () => {
    // Gone before every collector's drain below: all their samples are in this interval.
    const exited = services?.processes.exitedPids() ?? [];
    const images = services?.processes.imageMark();
    const profiles: { kind: (typeof collectors)[number]['kind']; profile: Profile }[] = [];
    for (const { kind, collector } of collectors) profiles.push({ kind, profile: relabelProfile(await collector.collect(), relabel) });
    // SkyWalking's tasks sample from the same table: they name their samples before it forgets.
    await skywalking?.flushTasks();
    network?.deliver();
    // Every collector has symbolized their samples: now they can go. Processes
    // found gone while symbols loaded wait for the next interval's drain.
    const gone = services?.processes.forgetExited(exited) ?? [];
    // Images exec'ed away from before these drains: every stack walked in them is named now.
    if (images !== undefined) services?.processes.forgetEarlierImages(images);
    for (const { collector } of collectors) collector.forgotten(gone);
    for (const { kind, profile } of profiles) {
      metrics.recordProfile(kind, profile);
      log.info({ kind, ...summarize(profile) }, 'collected interval');
      for (const sink of sinks) {
        try {
          await sink.consume(kind, profile);
        } catch (err) {
          log.error({ sink: sink.name, kind, err: err instanceof Error ? err.message : String(err) }, 'sink failed: profile dropped for this sink');
        }
      }
    }
    // What the receiver took in this interval, for the sinks that do not forward it as it comes (local files).
    for (const { kind, profile } of receiver?.takeInterval() ?? []) {
      for (const sink of sinks) {
        if (sink.forward !== undefined) continue;
        await sink.consume(kind, profile).catch((err: unknown) => log.error({ sink: sink.name, kind, err: err instanceof Error ? err.message : String(err) }, 'sink failed: received profile dropped for this sink'));
      }
    }
    // Totals since start, one line each time they change, so a loss shows in the log and a steady state stays quiet.
    const drops = { dropped: metrics.drops(), degraded: metrics.degraded(), exportDropped: metrics.export.drops(), receiverRejected: receiver?.metrics.totals().rejected ?? {} };
    const key = JSON.stringify(drops);
    if (key !== lastDrops) log.warn(receiver ? { ...drops, receiver: receiver.metrics.totals() } : drops, 'drops so far');
    lastDrops = key;
  }, { 'meshprof.profiles': config.profiles.join(',') });

  // /readyz answers 503 until the samplers are attached; /healthz at once, so a slow start is not a dead agent.
  const readiness = new ReadinessConditions(['samplers', 'exporters']);
  readiness.set('exporters', sinks.length > 0 || skywalkingConfig !== undefined);
  try {
    if (config.metricsAddr !== undefined) metricsServer = await startMetricsServer(config.metricsAddr, metrics.registry, readiness);
    discovery = await startDiscoveryService(discoveryConfig, log, env);
    const naming = discovery;
    // One process table, symbolizer, exec tracking and set of unwind tables for every profile
    // kind: /proc is read, and each binary's symbols and .eh_frame table loaded, once.
    const shared = createProcessServices({
      procRoot: config.procRoot, keepMangled: config.keepMangled, lineInfo: config.lineInfo, log, symbolCache,
      // the stacks of slow requests go into the network service's report only
      networkRequestStacksHz: config.network ? 99 : 0,
      dwarfUnwind: config.unwind === 'eh-frame',
      stackCollectors: config.profiles.length > 0,
      unwindMapSizes: { rowChunks: Math.floor(config.unwindTableBytes / 1024) },
      tableCache,
      describeProcess: (base) => naming.describeProcess(base),
      // With selection rules, only selected processes are sampled: preparing the symbols of every
      // program exec'd on the host would load tables nobody asks for.
      ...(naming.selective ? { wants: (pid: number) => selects(naming.currentTargets(), pid) } : {}),
    });
    services = shared;
    skywalking = skywalkingConfig
      ? (await import('./skywalking-service.js')).createSkyWalkingService(skywalkingConfig, config, log, shared, metrics.export, networkSettings)
      : undefined;
    // Before the samplers: a program started in between is then seen at exec.
    shared.tracking?.start();
    for (const kind of config.profiles) {
      const collector = createCollector(kind, {
        targets: naming.currentTargets(), frequencyHz: config.frequencyHz, includeIdle: config.includeIdle,
        memoryRateBytes: config.memoryRateBytes, log,
        // a continuous profiler starts at once; the first interval's stacks complete as tables arrive
        awaitTables: false,
      }, shared);
      collectors.push({ kind, collector });
      await collector.start();
    }
    if (config.network) {
      network = (await import('./network-service.js')).createNetworkService(networkSettings, exporters, config, shared, metrics, log);
      await network.start(naming.currentTargets());
    }
    // The loop sleeps until a collector is due (drain-schedule.ts). What
    // shortens a collector's period while it sleeps (a process found to run a
    // walked Python drains every second; selection rules stop the waiting)
    // wakes it earlier, once the listeners that decide it have run.
    // Each collector drains as often as its maps need while exec tracking
    // runs and no selection rules apply, else every second (drain-schedule.ts).
    let intervalStart = performance.now();
    const drains = createDrainSchedule(collectors.map((c) => c.collector), {
      start: intervalStart, mayWait: () => shared.tracking?.running === true && !naming.selective,
    });
    const drainTimer = new DrainTimer();
    let recheck: NodeJS.Immediate | undefined;
    const recheckSchedule = (): void => {
      recheck ??= setImmediate(() => {
        recheck = undefined;
        const now = performance.now();
        drainTimer.wakeBy(now + drains.nextDueMs(now, intervalStart + config.intervalMs));
      });
    };
    unsubscribes.push(shared.processes.onProcessAdded(recheckSchedule), shared.processes.onMappingsChanged(recheckSchedule));
    // MESHPROF_TARGET_*/EXCLUDE_* selections become the samplers' kernel filter.
    naming.followTargets((targets) => {
      for (const c of collectors) c.collector.setTargets(targets);
      network?.setTargets(targets);
      log.info({ targets: typeof targets === 'string' ? targets : targets.length }, 'target selection changed');
      recheckSchedule();
    }, livePidsOf(shared.processes));
    // After discovery (it names received resources) and the sinks; before the loop, so nothing waits on it.
    if (receiverConfig !== undefined) {
      receiver = await (await import('./receiver-service.js')).startReceiverService(receiverConfig, { procRoot: config.procRoot, naming, sinks, registry: metrics.registry, log, skywalking });
    }
    skywalking?.start();
    readiness.set('samplers', true);
    log.info({
      intervalMs: config.intervalMs, profiles: config.profiles, network: config.network, sinks: sinks.map((s) => s.name),
      skywalking: skywalking !== undefined, receiver: receiver !== undefined, metrics: metricsServer?.port, selfTelemetry: telemetry.enabled,
    }, 'agent started');
    // Loading the programs parsed the kernel's BTF; what libbpf freed again leaves the RSS now.
    releaseFreedNativeMemory();

    // The first interval starts with the loop.
    intervalStart = performance.now();
    drains.drainedAll(intervalStart);
    while (!stop.signal.aborted) {
      const before = performance.now();
      // Network profiling reads its ring every second; otherwise nothing happens between drains.
      const intervalEnd = intervalStart + config.intervalMs;
      // A drain due within a second of the interval's end waits for the end's collect.
      const sleepMs = Math.min(drains.nextDueMs(before, intervalEnd), intervalEnd - before, network === undefined ? Infinity : DRAIN_WAKE_MS);
      await drainTimer.sleep(sleepMs, stop.signal);
      network?.poll();
      const now = performance.now();
      if (now - intervalStart >= config.intervalMs) {
        intervalStart = now;
        // Each collect drains its collector, at its start.
        await deliver();
        drains.drainedAll(now);
        releaseFreedNativeMemory();
        continue;
      }
      for (const c of drains.due(now, intervalEnd)) c.poll();
    }
    // No new requests during the last interval's delivery: what was accepted goes out with it.
    await receiver?.close();
    await deliver();
  } finally {
    for (const u of unsubscribes) u();
    await receiver?.close().catch((err: unknown) => log.error({ err: String(err) }, 'stopping receiver'));
    for (const c of collectors) {
      try {
        c.collector.stop();
      } catch (err) {
        // A sampler that failed to start may fail to stop too; the start error is the one to report.
        log.warn({ kind: c.kind, err: err instanceof Error ? err.message : String(err) }, 'stopping collector');
      }
    }
    const deadline = config.shutdownTimeoutMs;
    await Promise.all([
      network?.stop(deadline).catch((err: unknown) => log.error({ err: String(err) }, 'stopping network profiling')),
      ...sinks.map((s) => s.shutdown(deadline).catch((err: unknown) => log.error({ sink: s.name, err: String(err) }, 'shutting down sink'))),
      skywalking?.stop().catch((err: unknown) => log.error({ err: String(err) }, 'stopping skywalking')),
    ]);
    services?.tracking?.stop();
    // after SkyWalking's tasks, which share the unwinder and the table
    services?.close();
    symbolCache.close();
    await discovery?.stop().catch((err: unknown) => log.error({ err: String(err) }, 'stopping discovery'));
    log.info({ dropped: metrics.drops(), degraded: metrics.degraded(), exportDropped: metrics.export.drops() }, 'agent stopped');
    await metricsServer?.close();
    await telemetry.shutdown().catch(() => undefined);
  }
  return 0;
}
