/**
 * The receiver assembled: the token check, the intake and the servers the
 * settings ask for. The controller gives it the node's describer and a
 * `deliver` that hands each accepted request to the sinks.
 */
import type { ReceiverConfig } from '../config/receiver-env.js';
import { createTokenCheck } from './bearer-token.js';
import { startHttpReceiver } from './http-receiver.js';
import { startOtlpGrpcReceiver, type ReceiverServer } from './otlp-grpc-receiver.js';
import { createLoadShedder, type LoadShedderOptions } from './load-shedder.js';
import { createProfileIntake } from './profile-intake.js';
import type { ReceiverMetrics } from './receiver-metrics.js';
import type { ReceivedProfiles } from './received-profiles.js';
import { createResourceEnricher, type ResourceDescriber } from './resource-enricher.js';
import { type Logger } from '../log/logger.js';

/** What the receiver needs from the controller. */
export interface ProfileReceiverDeps {
  readonly describer: ResourceDescriber;
  readonly metrics: ReceiverMetrics;
  readonly deliver: (received: ReceivedProfiles) => void;
  readonly log: Logger;
  /** Overload shedding; tests give their own utilization. */
  readonly shedding?: LoadShedderOptions | undefined;
}

/** A running receiver. Lifetime: started once, closed once. */
export interface ProfileReceiver {
  /** Bound `host:port` of each server that runs. */
  readonly grpcAddress: string | undefined;
  readonly httpAddress: string | undefined;
  close(): Promise<void>;
}

/** Starts the servers config names; a server that cannot bind fails the start (and closes the other). */
export async function startProfileReceiver(config: ReceiverConfig, deps: ProfileReceiverDeps): Promise<ProfileReceiver> {
  const intake = createProfileIntake({ enricher: createResourceEnricher(deps.describer), metrics: deps.metrics, deliver: deps.deliver });
  const shedder = createLoadShedder(deps.shedding);
  const serverDeps = { intake, metrics: deps.metrics, checkToken: createTokenCheck(config.authToken), shedder, log: deps.log };
  const servers: ReceiverServer[] = [];
  try {
    const grpc = config.grpc ? await startOtlpGrpcReceiver({ ...config, grpc: config.grpc }, serverDeps) : undefined;
    if (grpc) servers.push(grpc);
    const http = config.http ? await startHttpReceiver({ ...config, http: config.http }, serverDeps) : undefined;
    if (http) servers.push(http);
    let closing: Promise<void> | undefined;
    return {
      grpcAddress: grpc?.address,
      httpAddress: http?.address,
      close: () => (closing ??= Promise.all(servers.map((s) => s.close())).then(() => shedder.close())),
    };
  } catch (err) {
    await Promise.all(servers.map((s) => s.close()));
    shedder.close();
    throw err;
  }
}
