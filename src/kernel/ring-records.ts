/**
 * One poll of a ring buffer as the addon hands it over (native/ringbuf.c):
 * every record in one Buffer, so that a busy ring costs user space one
 * allocation per poll instead of one per record. Layout, little-endian: u32
 * record count, u32 records lost (the addon had no memory for them), then
 * per record a u32 length, 4 zero bytes and the record, padded to 8.
 */
import type { BpfRingBuffer } from './bpf-object.js';

const HEADER = 8;

/** A poll's records: walk them with forEachRingRecord, or split them with ringRecordViews. */
export interface RingRecords {
  readonly bytes: Buffer;
  readonly count: number;
  /** Records the addon consumed but could not keep. */
  readonly lost: number;
}

/** A poll that read nothing; the addon hands over no Buffer for it. */
const NOTHING: RingRecords = { bytes: Buffer.alloc(HEADER), count: 0, lost: 0 };

/** Reads a poll's header (undefined: nothing read); throws on a buffer that is not one (an addon/TS mismatch, never the kernel's data). */
export function readRingRecords(bytes: Buffer | undefined): RingRecords {
  if (bytes === undefined) return NOTHING;
  if (bytes.length < HEADER) throw new Error(`reading ring buffer records: ${bytes.length} bytes, not a poll's header: rebuild the addon (npm run build)`);
  return { bytes, count: bytes.readUInt32LE(0), lost: bytes.readUInt32LE(4) };
}

/** Calls fn with each record's offset and length in batch.bytes, in ring order; no copies. */
export function forEachRingRecord(batch: RingRecords, fn: (bytes: Buffer, offset: number, length: number) => void): void {
  const { bytes, count } = batch;
  let off = HEADER;
  for (let i = 0; i < count && off + HEADER <= bytes.length; i++) {
    const len = bytes.readUInt32LE(off);
    const start = off + HEADER;
    if (start + len > bytes.length) break;
    fn(bytes, start, len);
    off = start + ((len + 7) & ~7);
  }
}

/** Each record as its own view of batch.bytes (no copy): for consumers of a few records per poll. */
export function ringRecordViews(batch: RingRecords): Buffer[] {
  const out: Buffer[] = [];
  forEachRingRecord(batch, (bytes, offset, length) => out.push(bytes.subarray(offset, offset + length)));
  return out;
}

/** The addon's layout from records: for fakes of a ring buffer. */
export function packRingRecords(records: readonly Uint8Array[], lost = 0): Buffer {
  const size = records.reduce((n, r) => n + HEADER + ((r.length + 7) & ~7), HEADER);
  const out = Buffer.alloc(size);
  out.writeUInt32LE(records.length, 0);
  out.writeUInt32LE(lost, 4);
  let off = HEADER;
  for (const r of records) {
    out.writeUInt32LE(r.length, off);
    out.set(r, off + HEADER);
    off += HEADER + ((r.length + 7) & ~7);
  }
  return out;
}

/**
 * A BpfRingBuffer over a raw poll (the addon's, or a fake's): pollBatch as
 * polled, poll as views of it, lost summed, `free` called by the first close only.
 */
export function ringBufferOver(rawPoll: (timeoutMs: number) => Buffer | undefined, fd: number, free: () => void): BpfRingBuffer {
  let lost = 0;
  let closed = false;
  const pollBatch = (timeoutMs: number): RingRecords => {
    const batch = readRingRecords(rawPoll(timeoutMs));
    lost += batch.lost;
    return batch;
  };
  return {
    pollBatch,
    poll: (timeoutMs) => ringRecordViews(pollBatch(timeoutMs)),
    get lost() { return lost; },
    fd,
    close: () => {
      if (!closed) free();
      closed = true;
    },
  };
}
