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
  return {
    name: inner.name,
    export: (profiles) => inner.export(profiles.map((own) => ({ own }))),
    forward: (received) => inner.export([{ received }]),
    flush: (deadlineMs) => inner.flush(deadlineMs),
    shutdown: (deadlineMs) => inner.shutdown(deadlineMs),
  };
}
