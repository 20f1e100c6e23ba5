import type { BpfRingBuffer } from '../../src/kernel/index.js';
import { packRingRecords, ringBufferOver } from '../../src/kernel/ring-records.js';

/** A ring buffer handing out `next()`'s records at each poll, packed as the addon packs them. */
export function fakeRingBuffer(next: () => readonly Uint8Array[] = () => []): BpfRingBuffer {
  return ringBufferOver(() => packRingRecords(next()), -1, () => undefined);
}
