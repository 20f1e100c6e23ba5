/**
 * Registers the profilable processes with OAP (`reportProcesses`), keeps them
 * alive (`keepAlive`), and remembers the process id OAP gave each one.
 */
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { ProcessMetadata } from '../../profile/model.js';
import {
  EBPFProcessService,
  type EBPFProcessPropertiesSchema,
  type EBPFReportProcessDownstream,
} from '../../gen/skywalking/ebpf/profiling/Process_pb.js';
import type { OapConnection } from './oap-connection.js';
import { resolveProcessEntity, sameEntity, type EntityRules, type ProcessEntity } from './process-entity.js';
import { type Logger } from '../../log/logger.js';

/** Where the current processes come from (the process table, or procfs). */
export interface ProcessSource {
  list(): readonly ProcessMetadata[] | Promise<readonly ProcessMetadata[]>;
}

/** A reported process and the id OAP gave it (undefined until OAP answers). */
export interface ReportedProcess {
  readonly pid: number;
  readonly entity: ProcessEntity;
  readonly metadata: ProcessMetadata;
  readonly kubernetes: boolean;
  readonly processId: string | undefined;
}

/** Options; periods are Rover's defaults unless set. */
export interface ProcessReporterOptions {
  readonly connection: OapConnection;
  readonly agentId: string;
  readonly source: ProcessSource;
  readonly rules: EntityRules;
  readonly hostIp: string;
  readonly logger: Logger;
  readonly heartbeatMs?: number | undefined;
  /** Full re-report every this many heartbeats. */
  readonly reportEveryBeats?: number | undefined;
  /** First retry delay after a failed call; doubles up to the heartbeat. */
  readonly retryMs?: number | undefined;
}

/** The reporting loop and what it learned. */
export interface ProcessReporter {
  start(): void;
  stop(): void;
  /** One heartbeat: report or keep alive. Resolves false when OAP could not be reached. */
  beat(): Promise<boolean>;
  processes(): readonly ReportedProcess[];
  byProcessId(processId: string): ReportedProcess | undefined;
  /** Forces a full report on the next beat. */
  invalidate(): void;
}

type Props = MessageInitShape<typeof EBPFProcessPropertiesSchema>;

function kv(pairs: Record<string, string | undefined>): { key: string; value: string }[] {
  return Object.entries(pairs).flatMap(([key, value]) => (value === undefined ? [] : [{ key, value }]));
}

function toProperties(p: ReportedProcess, hostIp: string): Props {
  const a = p.metadata.attributes;
  const base = { host_ip: hostIp, pid: String(p.pid), command_line: p.metadata.commandLine ?? p.metadata.name };
  const meta = {
    entity: { ...p.entity, labels: [...p.entity.labels] },
    pid: p.pid,
    properties: p.kubernetes
      ? kv({
          ...base,
          container_ip: a['k8s.pod.ip'] ?? '',
          container_name: a['k8s.container.name'] ?? '',
          pod_name: a['k8s.pod.name'] ?? '',
          support_ebpf_profiling: 'true',
        })
      : kv({ ...base, support_ebpf_profiling: 'true' }),
  };
  return { metadata: p.kubernetes ? { case: 'k8sProcess', value: meta } : { case: 'hostProcess', value: meta } };
}

function keyOf(p: Pick<ReportedProcess, 'pid' | 'entity'>): string {
  const e = p.entity;
  return `${p.pid}|${e.layer}|${e.serviceName}|${e.instanceName}|${e.processName}`;
}

/** Creates the reporter; nothing is sent until start() or beat(). */
export function createProcessReporter(options: ProcessReporterOptions): ProcessReporter {
  const heartbeatMs = options.heartbeatMs ?? 20_000;
  const everyBeats = options.reportEveryBeats ?? 10;
  const retryMs = options.retryMs ?? 1_000;
  let current = new Map<string, ReportedProcess>();
  let beats = 0;
  let mustReport = true;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  let running = false;

  options.connection.onReconnect(() => {
    mustReport = true;
  });

  async function discover(): Promise<Map<string, ReportedProcess>> {
    const next = new Map<string, ReportedProcess>();
    for (const metadata of await options.source.list()) {
      const entity = resolveProcessEntity(metadata, options.rules);
      if (entity === undefined) continue;
      const kubernetes = (metadata.attributes['k8s.pod.name'] ?? '').trim() !== '';
      const candidate = { pid: metadata.pid, entity, metadata, kubernetes, processId: undefined };
      const key = keyOf(candidate);
      next.set(key, { ...candidate, processId: current.get(key)?.processId });
    }
    return next;
  }

  function applyDownstream(found: Map<string, ReportedProcess>, answer: EBPFReportProcessDownstream): void {
    for (const d of answer.processes) {
      const located = d.process.value;
      if (located?.entityMetadata === undefined) continue;
      for (const [key, p] of found) {
        if (p.pid === located.pid && sameEntity(p.entity, located.entityMetadata)) found.set(key, { ...p, processId: d.processId });
      }
    }
  }

  async function beat(): Promise<boolean> {
    try {
      const found = await discover();
      const changed = found.size !== current.size || [...found.keys()].some((k) => !current.has(k));
      if (mustReport || changed || beats % everyBeats === 0) {
        const answer = await options.connection.unary(EBPFProcessService.method.reportProcesses, {
          ebpfAgentID: options.agentId,
          processes: [...found.values()].map((p) => toProperties(p, options.hostIp)),
        });
        applyDownstream(found, answer);
        mustReport = false;
        options.logger.debug(`skywalking: reported ${found.size} processes`);
      } else {
        await options.connection.unary(EBPFProcessService.method.keepAlive, {
          ebpfAgentID: options.agentId,
          processes: [...found.values()].map((p) => ({
            entityMetadata: { ...p.entity, labels: [...p.entity.labels] },
            properties: [{ key: 'support_ebpf_profiling', value: 'true' }],
          })),
        });
      }
      current = found;
      beats++;
      failures = 0;
      return true;
    } catch (err) {
      // OAP may have lost our registrations while we could not reach it.
      mustReport = true;
      failures++;
      options.logger.warn(`skywalking: reporting processes: ${(err as Error).message}`);
      return false;
    }
  }

  function schedule(delay: number): void {
    if (!running) return;
    timer = setTimeout(() => {
      void beat().then((ok) => schedule(ok ? heartbeatMs : Math.min(heartbeatMs, retryMs * 2 ** (failures - 1))));
    }, delay);
    timer.unref();
  }

  return {
    start() {
      if (running) return;
      running = true;
      schedule(0);
    },
    stop() {
      running = false;
      if (timer !== undefined) clearTimeout(timer);
    },
    beat,
    processes: () => [...current.values()],
    byProcessId: (id) => [...current.values()].find((p) => p.processId === id),
    invalidate() {
      mustReport = true;
    },
  };
}
