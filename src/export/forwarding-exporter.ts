/**
 * An exporter of the agent's own profiles that also forwards received ones
 * through the same queue, retry and transport: one backend connection, one
 * set of delivery and drop counters, whichever way a profile came.
 */
import type { Profile } from '../profile/model.js';
import type { ReceivedProfiles } from '../receive/received-profiles.js';
import type { ItemSerializer, ProfileExporter, QueuedExporterOptions } from './queued-exporter.js';
import { createItemExporter } from './queued-exporter.js';

/** One queued item: an interval's profile of the agent's own, or one received request. */
export type ExportItem = { readonly own: Profile } | { readonly received: ReceivedProfiles };

/** A profile exporter that forwards received requests too. */
export interface ForwardingExporter extends ProfileExporter {
  /** Serializes and enqueues a received request; returns at once. */
  forward(received: ReceivedProfiles): void;
}

/** Serializers for the two kinds of item. */
export interface ForwardingSerializers {
  readonly own: ItemSerializer<Profile>;
  readonly received: ItemSerializer<ReceivedProfiles>;
}

/** How long received requests wait to go out together: a thousand a second become five requests. */
export const FORWARD_BATCH_MS = 200;
/** Received requests that go out at once, however short the wait. */
const FORWARD_BATCH_ITEMS = 1024;

const samplesOf = (items: readonly ExportItem[]): number =>
  items.reduce((n, i) => n + ('own' in i ? i.own.samples.length : i.received.samples), 0);

/** Wires the serializers, a queue and a retrying transport into a forwarding exporter. */
export function createForwardingExporter(
  options: Omit<QueuedExporterOptions<ExportItem>, 'serializer'>,
  serializers: ForwardingSerializers,
): ForwardingExporter {
  const serializer: ItemSerializer<ExportItem> = {
    serialize(items) {
      const own: Profile[] = [];
      const received: ReceivedProfiles[] = [];
      for (const i of items) {
        if ('own' in i) own.push(i.own);
        else received.push(i.received);
      }
      const a = own.length > 0 ? serializers.own.serialize(own) : { requests: [], tooLargeSamples: 0 };
      const b = received.length > 0 ? serializers.received.serialize(received) : { requests: [], tooLargeSamples: 0 };
      return { requests: [...a.requests, ...b.requests], tooLargeSamples: a.tooLargeSamples + b.tooLargeSamples };
    },
  };
  const inner = createItemExporter<ExportItem>({ ...options, serializer }, samplesOf);
  // Received requests wait a moment and are handed over together, so the serializer can merge them.
  let pending: ExportItem[] = [];
  let timer: NodeJS.Timeout | undefined;
  const handOver = (): void => {
    clearTimeout(timer);
    timer = undefined;
    if (pending.length > 0) inner.export(pending.splice(0));
  };
  return {
    name: inner.name,
    export: (profiles) => inner.export(profiles.map((own) => ({ own }))),
    forward(received) {
      pending.push({ received });
      if (pending.length >= FORWARD_BATCH_ITEMS) handOver();
      else timer ??= setTimeout(handOver, FORWARD_BATCH_MS);
    },
    flush(deadlineMs) {
      handOver();
      return inner.flush(deadlineMs);
    },
    shutdown(deadlineMs) {
      handOver();
      pending = [];
      return inner.shutdown(deadlineMs);
    },
  };
}
