/**
 * The receiver as the controller runs it: the node's describer built from
 * /proc and discovery, each accepted request handed to every sink that
 * forwards (exporters) at once, and merged per interval for the others
 * (local files), which get it at the interval's end.
 */
import { hostname } from 'node:os';
import { basename } from 'node:path';
import type { Registry } from 'prom-client';
import type { ReceiverConfig } from '../config/receiver-env.js';
import type { DiscoveryService } from '../discovery/discovery-service.js';
import type { ProfileSink } from '../export/profile-sink.js';
import type { SkyWalkingExporter } from '../export/skywalking/index.js';
import { createProcReader } from '../process/proc-reader.js';
import type { Profile } from '../profile/model.js';
import {
  createReceivedAccumulator, createReceiverMetrics, startProfileReceiver,
  type LoadShedderOptions, type NodeAttributes, type ReceiverMetrics, type ResourceDescriber,
} from '../receive/index.js';
import { type Logger } from '../log/logger.js';

/** A running receiver wired to the agent's sinks. */
export interface ReceiverService {
  readonly grpcAddress: string | undefined;
  readonly httpAddress: string | undefined;
  readonly metrics: ReceiverMetrics;
  /** The interval's received profiles for sinks without forward(), merged per kind; empties the buffer. */
  takeInterval(): { kind: string; profile: Profile }[];
  close(): Promise<void>;
}

/** What the node knows of a pid or container: discovery's naming plus the executable from /proc. */
export function nodeDescriber(procRoot: string, naming: Pick<DiscoveryService, 'describeProcess' | 'describeContainer'>, hostName = hostname()): ResourceDescriber {
  const proc = createProcReader(procRoot);
  return {
    describePid(pid) {
      const comm = proc.readComm(pid);
      if (comm === undefined) return undefined;
      const exe = proc.readExe(pid);
      const args = proc.readCmdline(pid) ?? [];
      const described = naming.describeProcess({ pid, name: comm, executablePath: exe, commandLine: args.join(' '), attributes: {} });
      const attrs: Record<string, string | number> = { 'host.name': hostName, ...described.attributes };
      attrs['process.executable.name'] = exe !== undefined ? basename(exe) : comm;
      if (exe !== undefined) attrs['process.executable.path'] = exe;
      if (args.length > 0) attrs['process.command_line'] = args.join(' ');
      return attrs satisfies NodeAttributes;
    },
    describeContainer: (id) => naming.describeContainer(id),
  };
}

/** Starts the receiver's servers; sinks are the agent's, in its order. */
export async function startReceiverService(config: ReceiverConfig, deps: {
  readonly procRoot: string;
  readonly naming: Pick<DiscoveryService, 'describeProcess' | 'describeContainer'>;
  readonly sinks: readonly ProfileSink[];
  readonly registry: Registry;
  readonly log: Logger;
  /** SkyWalking: received on-CPU samples of processes its running tasks profile. */
  readonly skywalking?: Pick<SkyWalkingExporter, 'offerReceived'> | undefined;
  /** Overload shedding options (tests); the defaults suit the agent. */
  readonly shedding?: LoadShedderOptions | undefined;
}): Promise<ReceiverService> {
  const { sinks, log } = deps;
  const metrics = createReceiverMetrics(deps.registry);
  const accumulator = createReceivedAccumulator();
  const buffered = sinks.some((s) => s.forward === undefined);
  let lastOverflowLog = 0;
  const receiver = await startProfileReceiver(config, {
    describer: nodeDescriber(deps.procRoot, deps.naming),
    metrics,
    log,
    shedding: deps.shedding,
    deliver(received) {
      for (const sink of sinks) {
        if (sink.forward === undefined) continue;
        try {
          sink.forward(received);
          metrics.recordForwarded(sink.name, received.samples);
        } catch (err) {
          log.error({ sink: sink.name, err: err instanceof Error ? err.message : String(err) }, 'forwarding received profiles: dropped for this sink');
        }
      }
      if (deps.skywalking !== undefined) {
        try {
          const taken = deps.skywalking.offerReceived(() => received.profiles().map((p) => p.profile));
          if (taken > 0) metrics.recordForwarded('skywalking', taken);
        } catch (err) {
          log.error({ sink: 'skywalking', err: err instanceof Error ? err.message : String(err) }, 'forwarding received profiles: dropped for this sink');
        }
      }
      if (!buffered) return;
      const over = accumulator.add(received.profiles());
      if (over > 0) {
        metrics.recordRejected(received.protocol, 'interval_buffer_full', over);
        if (Date.now() - lastOverflowLog > 10_000) {
          lastOverflowLog = Date.now();
          log.warn({ samples: over }, 'received profiles: the interval buffer for local files is full: samples dropped for local files');
        }
      }
    },
  });
  log.info({ grpc: receiver.grpcAddress, http: receiver.httpAddress, auth: config.authToken !== undefined, tls: config.tls !== undefined, maxBytes: config.maxBytes }, 'receiver listening');
  return {
    grpcAddress: receiver.grpcAddress,
    httpAddress: receiver.httpAddress,
    metrics,
    takeInterval: () => accumulator.take(),
    close: () => receiver.close(),
  };
}
