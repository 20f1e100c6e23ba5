/**
 * A FIFO bounded by item count and by total bytes. When full it refuses the
 * NEWEST item (the one being offered) and keeps what it holds, as the
 * Collector's sending queue does: the data from the start of an outage is
 * delivered once the backend is back, and the overflow is counted as
 * dropped by the caller.
 */

/** An item that knows its size. */
export interface Sized {
  readonly bytes: Uint8Array;
}

/** Limits of one exporter's queue. */
export interface QueueLimits {
  readonly maxItems: number;
  readonly maxBytes: number;
}

/** Default limits: enough for a few minutes of outage at typical rates, and no more than 64 MiB. */
export const DEFAULT_QUEUE_LIMITS: QueueLimits = { maxItems: 256, maxBytes: 64 * 1024 * 1024 };

/** A bounded FIFO. */
export interface BoundedQueue<T extends Sized> {
  /** Adds item at the tail; false (and nothing stored) when it would break a limit. */
  offer(item: T): boolean;
  /** Removes the head. */
  take(): T | undefined;
  /** Removes and returns everything. */
  drain(): T[];
  readonly length: number;
  readonly byteLength: number;
}

/** Creates an empty bounded queue. */
export function createBoundedQueue<T extends Sized>(limits: QueueLimits = DEFAULT_QUEUE_LIMITS): BoundedQueue<T> {
  let items: T[] = [];
  let head = 0;
  let bytes = 0;
  return {
    offer(item) {
      if (items.length - head >= limits.maxItems || bytes + item.bytes.length > limits.maxBytes) return false;
      items.push(item);
      bytes += item.bytes.length;
      return true;
    },
    take() {
      if (head >= items.length) return undefined;
      const item = items[head]!;
      head++;
      bytes -= item.bytes.length;
      // Compact now and then so the array does not keep taken items alive.
      if (head > 64 && head * 2 > items.length) {
        items = items.slice(head);
        head = 0;
      }
      return item;
    },
    drain() {
      const rest = items.slice(head);
      items = [];
      head = 0;
      bytes = 0;
      return rest;
    },
    get length() {
      return items.length - head;
    },
    get byteLength() {
      return bytes;
    },
  };
}
