import { describe, expect, it } from 'vitest';
import { forEachRingRecord, packRingRecords, readRingRecords, ringBufferOver, ringRecordViews } from '../../src/kernel/ring-records.js';

describe('ring buffer records of one poll', () => {
  it('walks records of every length back out of the packed layout, aligned and in order', () => {
    const records = [0, 1, 7, 8, 9, 200, 1120].map((n, k) => Buffer.alloc(n, k + 1));
    const batch = readRingRecords(packRingRecords(records, 2));
    expect(batch.count).toBe(records.length);
    expect(batch.lost).toBe(2);
    const seen: Buffer[] = [];
    forEachRingRecord(batch, (bytes, offset, length) => {
      expect(offset % 8).toBe(0);
      seen.push(Buffer.from(bytes.subarray(offset, offset + length)));
    });
    expect(seen).toEqual(records);
    // views share the poll's buffer: no copy per record
    const views = ringRecordViews(batch);
    expect(views.map((v) => v.length)).toEqual(records.map((r) => r.length));
    expect(views.every((v) => v.buffer === batch.bytes.buffer)).toBe(true);
  });

  it('stops at a record that runs past the buffer instead of reading beyond it', () => {
    const whole = packRingRecords([Buffer.alloc(16, 1), Buffer.alloc(16, 2)]);
    const cut = whole.subarray(0, whole.length - 4);
    expect(ringRecordViews(readRingRecords(cut))).toEqual([Buffer.alloc(16, 1)]);
  });

  it('reads a poll that read nothing (the addon hands over no Buffer) as no records', () => {
    const ring = ringBufferOver(() => undefined, 3, () => {});
    expect(ring.poll(0)).toEqual([]);
    expect(ring.pollBatch(0).count).toBe(0);
    expect(ring.lost).toBe(0);
  });

  it('says what to do with a buffer that is not a poll', () => {
    expect(() => readRingRecords(Buffer.alloc(3))).toThrow(/rebuild the addon/);
  });

  it('sums the records lost over polls', () => {
    const polls = [packRingRecords([Buffer.alloc(4)], 3), packRingRecords([], 0), packRingRecords([], 1)];
    const rb = ringBufferOver(() => polls.shift()!, -1, () => undefined);
    expect(rb.poll(0)).toEqual([Buffer.alloc(4)]);
    expect(rb.pollBatch(0).count).toBe(0);
    rb.poll(0);
    expect(rb.lost).toBe(4);
  });
});
