/**
 * The exporter: serializer → bounded queue → retrying transport, with one
 * send in flight. export() never blocks and never throws, so a dead backend
 * delays nobody; everything not delivered is counted with its reason.
 */
import type { Profile } from '../profile/model.js';
import type { QueueLimits } from './bounded-queue.js';
import { createBoundedQueue, DEFAULT_QUEUE_LIMITS } from './bounded-queue.js';
import type { DropReason, ExportMetrics } from './export-metrics.js';
import type { RetryingTransport } from './retrying-transport.js';
import { type Logger } from '../log/logger.js';

/** One serialized request and the number of samples in it. */
export interface SerializedRequest {
  readonly bytes: Uint8Array;
  readonly samples: number;
}

/** Turns items (profiles, SkyWalking task data) into requests that fit the backend's size limit. */
export interface ItemSerializer<T> {
  serialize(items: readonly T[]): { readonly requests: SerializedRequest[]; readonly tooLargeSamples: number };
}

/** Turns profiles into requests that fit the backend's size limit. */
export type ProfileSerializer = ItemSerializer<Profile>;

/** A running exporter of items of type T. */
export interface QueuedExporter<T> {
  readonly name: string;
  /** Serializes and enqueues; returns at once. */
  export(items: readonly T[]): void;
  /** Resolves when everything queued was handled, or at the deadline (ms from now). */
  flush(deadlineMs: number): Promise<void>;
  /** Flushes within deadlineMs, then drops (and counts) what is left and closes the transport. */
  shutdown(deadlineMs: number): Promise<void>;
}

/** A running profile exporter, as the agent controller sees it. */
export type ProfileExporter = QueuedExporter<Profile>;

/** Parts an exporter is wired from. */
export interface QueuedExporterOptions<T = Profile> {
  readonly name: string;
  readonly serializer: ItemSerializer<T>;
  readonly transport: RetryingTransport;
  readonly metrics: ExportMetrics;
  readonly logger: Logger;
  readonly timeoutMs?: number | undefined;
  readonly queue?: QueueLimits | undefined;
  /** Wraps each send, e.g. in a self-telemetry span. */
  readonly traceSend?: (<T>(name: string, fn: () => Promise<T>) => Promise<T>) | undefined;
}

const profileSamples = (profiles: readonly Profile[]): number => profiles.reduce((n, p) => n + p.samples.length, 0);

/** Wires a profile serializer, a queue and a retrying transport into an exporter. */
export function createQueuedExporter(options: QueuedExporterOptions): ProfileExporter {
  return createItemExporter(options, profileSamples);
}

/**
 * Wires any serializer, a queue and a retrying transport into an exporter;
 * `countSamples` says how many samples a drop of `items` loses.
 */
export function createItemExporter<T>(options: QueuedExporterOptions<T>, countSamples: (items: readonly T[]) => number): QueuedExporter<T> {
  const { name, metrics, logger } = options;
  const queue = createBoundedQueue<SerializedRequest>(options.queue ?? DEFAULT_QUEUE_LIMITS);
  const abort = new AbortController();
  const loggedPermanent = new Set<string>();
  const idleWaiters: (() => void)[] = [];
  let sending = false;
  let closed = false;
  /** The request being sent; counted as dropped at shutdown if it has not settled by then. */
  let inFlight: { readonly samples: number; counted: boolean } | undefined;

  // One line when the backend starts failing and one when it works again: between them,
  // retries_total is the only other sign of an outage that can last minutes.
  options.transport.onHealthChange?.((change) => {
    // A send cut off by shutdown is not news about the backend.
    if (abort.signal.aborted) return;
    if (!change.healthy) {
      logger.warn({ exporter: name, err: change.reason }, `exporter ${name} is failing: retrying; requests wait in its queue (logged again when it recovers)`);
    } else {
      logger.warn({ exporter: name, failedAttempts: change.failedAttempts, failingMs: change.failingMs }, `exporter ${name} recovered after ${change.failedAttempts} failed attempts`);
    }
  });

  const drop = (reason: DropReason, samples: number, detail: string): void => {
    metrics.recordDrop(name, reason, samples);
    // A backend that rejects every request would otherwise log once per interval forever.
    if (reason === 'permanent_error' && loggedPermanent.has(detail)) return;
    if (reason === 'permanent_error') loggedPermanent.add(detail);
    logger.warn({ exporter: name, reason, samples, detail }, `exporting profiles: dropped ${samples} samples (${reason})`);
  };

  const queueChanged = (): void => metrics.recordQueue(name, queue.length, queue.byteLength);

  const pump = async (): Promise<void> => {
    if (sending) return;
    sending = true;
    for (let item = queue.take(); item; item = queue.take()) {
      queueChanged();
      const req = item;
      const started = performance.now();
      const send = (): ReturnType<RetryingTransport['send']> =>
        options.transport.send(req.bytes, options.timeoutMs ?? 10_000, abort.signal);
      const flight = { samples: req.samples, counted: false };
      inFlight = flight;
      const outcome = await (options.traceSend ? options.traceSend(`export ${name}`, send) : send());
      metrics.recordExportDuration(name, (performance.now() - started) / 1000, outcome.ok ? 'sent' : 'dropped');
      inFlight = undefined;
      // Already counted as dropped at shutdown: its late answer changes nothing in the totals.
      if (flight.counted) continue;
      if (outcome.ok) metrics.recordSent(name, req.samples, req.bytes.length);
      else if (outcome.kind === 'permanent') drop('permanent_error', req.samples, outcome.reason);
      else if (outcome.kind === 'retries_exhausted') drop('retries_exhausted', req.samples, outcome.reason);
      else drop('shutdown', req.samples, outcome.reason);
    }
    sending = false;
    idleWaiters.splice(0).forEach((wake) => wake());
  };

  const idle = (deadlineMs: number): Promise<void> =>
    new Promise((resolve) => {
      if (!sending && queue.length === 0) return resolve();
      const timer = setTimeout(resolve, deadlineMs);
      idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });

  return {
    name,
    export(items) {
      if (closed) {
        const samples = countSamples(items);
        if (samples > 0) drop('shutdown', samples, 'exporter is shut down');
        return;
      }
      let serialized: ReturnType<ItemSerializer<T>['serialize']>;
      try {
        serialized = options.serializer.serialize(items);
      } catch (err) {
        // A serializer bug must not take the collection loop down with it.
        const samples = countSamples(items);
        drop('permanent_error', samples, `serializing profiles: ${(err as Error).message}`);
        return;
      }
      const { requests, tooLargeSamples } = serialized;
      if (tooLargeSamples > 0) drop('too_large', tooLargeSamples, 'one process exceeds the request size limit');
      for (const req of requests) {
        if (!queue.offer(req)) drop('queue_full', req.samples, `queue holds ${queue.length} requests, ${queue.byteLength} bytes`);
      }
      queueChanged();
      void pump();
    },
    flush: idle,
    async shutdown(deadlineMs) {
      closed = true;
      await idle(deadlineMs);
      abort.abort();
      const left = queue.drain();
      queueChanged();
      const samples = left.reduce((n, r) => n + r.samples, 0);
      if (samples > 0) drop('shutdown', samples, 'flush deadline passed');
      // Let the aborted in-flight send settle so its samples are counted too.
      await idle(1000);
      // A backend that never answers holds the send until its timeout: count it now, so the
      // totals the agent logs when it stops are final.
      if (inFlight !== undefined && !inFlight.counted) {
        inFlight.counted = true;
        drop('shutdown', inFlight.samples, 'no answer by the flush deadline');
      }
      await options.transport.shutdown();
    },
  };
}
