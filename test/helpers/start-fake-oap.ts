/**
 * A test OAP: a grpc-js server over our generated skywalking.v3 services that
 * records every call and answers with scripted tasks and policies.
 */
import * as grpc from '@grpc/grpc-js';
import { create, fromBinary, toBinary, type DescMessage, type DescService, type MessageShape } from '@bufbuild/protobuf';
import type { Command } from '../../src/gen/skywalking/common/Command_pb.js';
import {
  EBPFProcessService,
  type EBPFProcessPingPkgList,
  type EBPFProcessReportList,
} from '../../src/gen/skywalking/ebpf/profiling/Process_pb.js';
import {
  EBPFProfilingService,
  type EBPFProfilingData,
  type EBPFProfilingTaskQuery,
} from '../../src/gen/skywalking/ebpf/profiling/Profile_pb.js';
import {
  ContinuousProfilingService,
  type ContinuousProfilingPolicyQuery,
  type ContinuousProfilingReport,
} from '../../src/gen/skywalking/ebpf/profiling/Continuous_pb.js';
import { MeterReportService, type MeterData, type MeterDataCollection } from '../../src/gen/skywalking/language-agent/Meter_pb.js';
import { LogReportService, type LogData } from '../../src/gen/skywalking/logging/Logging_pb.js';
import { freePort } from './free-port.js';

export { freePort };

type Handler = (request: unknown, metadata: grpc.Metadata) => unknown;

function definition(service: DescService, handlers: Record<string, Handler>): {
  def: grpc.ServiceDefinition;
  impl: grpc.UntypedServiceImplementation;
} {
  const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  const impl: grpc.UntypedServiceImplementation = {};
  for (const m of service.methods) {
    const input = m.input as DescMessage;
    const output = m.output as DescMessage;
    const streaming = m.methodKind === 'client_streaming';
    def[m.name] = {
      path: `/${service.typeName}/${m.name}`,
      requestStream: streaming,
      responseStream: false,
      requestSerialize: (v: unknown) => Buffer.from(toBinary(input, v as MessageShape<DescMessage>)),
      requestDeserialize: (b: Buffer) => fromBinary(input, b),
      responseSerialize: (v: unknown) => Buffer.from(toBinary(output, v as MessageShape<DescMessage>)),
      responseDeserialize: (b: Buffer) => fromBinary(output, b),
    };
    const h = handlers[m.name];
    if (h === undefined) throw new Error(`fake oap: no handler for ${m.name}`);
    impl[m.name] = streaming
      ? (call: grpc.ServerReadableStream<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
          const messages: unknown[] = [];
          call.on('data', (d: unknown) => messages.push(d));
          call.on('end', () => cb(null, create(output, h(messages, call.metadata) as never)));
        }
      : (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) =>
          cb(null, create(output, h(call.request, call.metadata) as never));
  }
  return { def, impl };
}

/** A task the fake OAP hands out. */
export interface FakeTask {
  taskId: string;
  processId: string;
  targetType: 'ON_CPU' | 'OFF_CPU' | 'NETWORK';
  startTime: number;
  updateTime: number;
  durationS: number;
  /** ExtensionConfigJSON; '{}' unless set. */
  extensionConfig?: string;
}

/** What the fake saw. */
export interface FakeOapRecord {
  reports: EBPFProcessReportList[];
  keepAlives: EBPFProcessPingPkgList[];
  taskQueries: EBPFProfilingTaskQuery[];
  /** One entry per collectProfilingData stream. */
  streams: EBPFProfilingData[][];
  policyQueries: ContinuousProfilingPolicyQuery[];
  continuousReports: ContinuousProfilingReport[];
  authHeaders: string[];
  /** One entry per MeterReportService.collectBatch stream. */
  meterBatches: MeterDataCollection[][];
  /** One entry per MeterReportService.collect stream. */
  meterStreams: MeterData[][];
  /** One entry per LogReportService.collect stream. */
  logStreams: LogData[][];
}

/** The fake server. */
export interface FakeOap {
  port: number;
  readonly record: FakeOapRecord;
  tasks: FakeTask[];
  /** ServiceWithPolicyJSON entries, answered when the uuid differs. */
  policies: { ServiceName: string; UUID: string; Profiling: Record<string, Record<string, unknown>> }[];
  stop(): Promise<void>;
  /** Drops every connection at once, as a crashing OAP would. */
  kill(): void;
}


function taskCommand(t: FakeTask): Command {
  const args = {
    TaskId: t.taskId,
    ProcessId: t.processId,
    TaskUpdateTime: String(t.updateTime),
    TriggerType: 'FIXED_TIME',
    TargetType: t.targetType,
    TaskStartTime: String(t.startTime),
    FixedTriggerDuration: String(t.durationS),
    ExtensionConfigJSON: t.extensionConfig ?? '{}',
  };
  return {
    $typeName: 'skywalking.v3.Command',
    command: 'EBPFProfilingTaskQuery',
    args: Object.entries(args).map(([key, value]) => ({ $typeName: 'skywalking.v3.KeyStringValuePair', key, value })),
  };
}

/** Starts a fake OAP on the port (0 picks one). Process ids are `proc-<pid>`. */
export async function startFakeOap(
  port = 0,
  record?: FakeOapRecord,
  credentials: grpc.ServerCredentials = grpc.ServerCredentials.createInsecure(),
): Promise<FakeOap> {
  const rec: FakeOapRecord = record ?? {
    reports: [],
    keepAlives: [],
    taskQueries: [],
    streams: [],
    policyQueries: [],
    continuousReports: [],
    authHeaders: [],
    meterBatches: [],
    meterStreams: [],
    logStreams: [],
  };
  const server = new grpc.Server();
  let continuousSeq = 0;
  const auth = (md: grpc.Metadata): void => {
    const v = md.get('authentication')[0];
    if (v !== undefined) rec.authHeaders.push(String(v));
  };
  const fake: FakeOap = {
    port,
    record: rec,
    tasks: [],
    policies: [],
    stop: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
    kill: () => server.forceShutdown(),
  };
  const process = definition(EBPFProcessService, {
    reportProcesses: (req, md) => {
      auth(md);
      const list = req as EBPFProcessReportList;
      rec.reports.push(list);
      return {
        processes: list.processes.map((p) => {
          const v = p.metadata.value;
          const located = { pid: v?.pid ?? 0, entityMetadata: v?.entity };
          return {
            processId: `proc-${v?.pid ?? 0}`,
            process:
              p.metadata.case === 'k8sProcess' ? { case: 'k8sProcess', value: located } : { case: 'hostProcess', value: located },
          };
        }),
      };
    },
    keepAlive: (req, md) => {
      auth(md);
      rec.keepAlives.push(req as EBPFProcessPingPkgList);
      return {};
    },
  });
  const profiling = definition(EBPFProfilingService, {
    queryTasks: (req, md) => {
      auth(md);
      const q = req as EBPFProfilingTaskQuery;
      rec.taskQueries.push(q);
      return { commands: fake.tasks.filter((t) => BigInt(t.updateTime) > q.latestUpdateTime).map(taskCommand) };
    },
    collectProfilingData: (msgs) => {
      rec.streams.push(msgs as EBPFProfilingData[]);
      return {};
    },
  });
  const continuous = definition(ContinuousProfilingService, {
    queryPolicies: (req) => {
      const q = req as ContinuousProfilingPolicyQuery;
      rec.policyQueries.push(q);
      const changed = fake.policies.filter((p) =>
        q.policies.some((s) => s.serviceName === p.ServiceName && s.uuid !== p.UUID),
      );
      if (changed.length === 0) return {};
      return {
        commands: [
          { command: 'ContinuousProfilingPolicyQuery', args: [{ key: 'ServiceWithPolicyJSON', value: JSON.stringify(changed) }] },
        ],
      };
    },
    reportProfilingTask: (req) => {
      rec.continuousReports.push(req as ContinuousProfilingReport);
      continuousSeq++;
      return { commands: [{ command: 'ContinuousProfilingReportTask', args: [{ key: 'TaskId', value: `cont-${continuousSeq}` }] }] };
    },
  });
  const meters = definition(MeterReportService, {
    collect: (msgs) => {
      rec.meterStreams.push(msgs as MeterData[]);
      return {};
    },
    collectBatch: (msgs) => {
      rec.meterBatches.push(msgs as MeterDataCollection[]);
      return {};
    },
  });
  const logging = definition(LogReportService, {
    collect: (msgs) => {
      rec.logStreams.push(msgs as LogData[]);
      return {};
    },
  });
  for (const s of [process, profiling, continuous, meters, logging]) server.addService(s.def, s.impl);
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
  fake.port = bound;
  return fake;
}
