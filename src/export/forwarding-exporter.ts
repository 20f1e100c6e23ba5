/**
 * An exporter of the agent's own profiles that also forwards received ones
 * through the same queue, retry and transport: one backend connection, one
 * set of delivery and drop counters, whichever way a profile came.
 */
import type { Profile } from '../profile/model.js';
import type { ReceivedProfiles } from '../receive/received-profiles.js';
import type { ItemSerializer, ProfileExporter, QueuedExporterOptions } from './queued-exporter.js';
import { createItemExporter } from './queued-exporter.js';

/** Received requests folded in as they are forwarded, serialized at the hand-over. Lifetime: one hand-over. */
export interface ForwardBatch {
  add(item: ReceivedProfiles): void;
  readonly items: number;
  readonly samples: number;
  /** About how large the batch serializes (never less). */
  readonly bytes: number;
  /** Once, at the hand-over. */
  finish(): ReturnType<ItemSerializer<ReceivedProfiles>['serialize']>;
}

/** One queued item: an interval's profile of the agent's own, one received request, or a batch of them. */
export type ExportItem = { readonly own: Profile } | { readonly received: ReceivedProfiles } | { readonly batch: ForwardBatch };

/** A profile exporter that forwards received requests too. */
export interface ForwardingExporter extends ProfileExporter {
  /** Serializes and enqueues a received request; returns at once. */
  forward(received: ReceivedProfiles): void;
}

/** Serializers for the two kinds of item. */
export interface ForwardingSerializers {
  readonly own: ItemSerializer<Profile>;
  /** With begin(), received requests are folded into a batch as they come (OTLP merges them at once). */
  readonly received: ItemSerializer<ReceivedProfiles> & { begin?(): ForwardBatch };
}

/** How long received requests wait to go out together: a thousand a second become five requests. */
export const FORWARD_BATCH_MS = 200;
/** Received requests that go out at once, however short the wait. */
const FORWARD_BATCH_ITEMS = 1024;
/** Nor does a batch wait past this many bytes: what the receiver holds between hand-overs stays bounded. */
const FORWARD_BATCH_BYTES = 16 * 1024 * 1024;

const samplesOf = (items: readonly ExportItem[]): number =>
  items.reduce((n, i) => n + ('own' in i ? i.own.samples.length : 'batch' in i ? i.batch.samples : i.received.samples), 0);

/** Wires the serializers, a queue and a retrying transport into a forwarding exporter. */
export function createForwardingExporter(
  options: Omit<QueuedExporterOptions<ExportItem>, 'serializer'>,
  serializers: ForwardingSerializers,
): ForwardingExporter {
  const serializer: ItemSerializer<ExportItem> = {
    serialize(items) {
      const own: Profile[] = [];
      const received: ReceivedProfiles[] = [];
      const batches: ForwardBatch[] = [];
      for (const i of items) {
        if ('own' in i) own.push(i.own);
        else if ('batch' in i) batches.push(i.batch);
        else received.push(i.received);
      }
      const a = own.length > 0 ? serializers.own.serialize(own) : { requests: [], tooLargeSamples: 0 };
      const b = received.length > 0 ? serializers.received.serialize(received) : { requests: [], tooLargeSamples: 0 };
      const c = batches.map((x) => x.finish());
      return {
        requests: [...a.requests, ...b.requests, ...c.flatMap((x) => x.requests)],
        tooLargeSamples: a.tooLargeSamples + b.tooLargeSamples + c.reduce((n, x) => n + x.tooLargeSamples, 0),
      };
    },
  };
  const inner = createItemExporter<ExportItem>({ ...options, serializer }, samplesOf);
  // Received requests wait a moment and are handed over together, so the serializer can merge them.
  let pending: ExportItem[] = [];
  let batch: ForwardBatch | undefined;
  let timer: NodeJS.Timeout | undefined;
  const handOver = (): void => {
    clearTimeout(timer);
    timer = undefined;
    if (batch !== undefined) pending.push({ batch });
    batch = undefined;
    if (pending.length > 0) inner.export(pending.splice(0));
  };
  return {
    name: inner.name,
    export: (profiles) => inner.export(profiles.map((own) => ({ own }))),
    forward(received) {
      const begin = serializers.received.begin;
      if (begin !== undefined) {
        try {
          (batch ??= begin()).add(received);
        } catch (err) {
          // As a serializer failing at the hand-over would be: counted, never thrown at the receiver.
          options.metrics.recordDrop(inner.name, 'permanent_error', received.samples);
          options.logger.warn({ exporter: inner.name, err: (err as Error).message }, 'forwarding received profiles: dropped');
          return;
        }
      } else {
        pending.push({ received });
      }
      if ((batch?.items ?? 0) + pending.length >= FORWARD_BATCH_ITEMS || (batch?.bytes ?? 0) >= FORWARD_BATCH_BYTES) handOver();
      else timer ??= setTimeout(handOver, FORWARD_BATCH_MS);
    },
    flush(deadlineMs) {
      handOver();
      return inner.flush(deadlineMs);
    },
    shutdown(deadlineMs) {
      handOver();
      pending = [];
      batch = undefined;
      return inner.shutdown(deadlineMs);
    },
  };
}
