import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPath, forEachRingRecord, openBpfObject, waitReadable } from '../../src/kernel/index.js';
import type { BpfLink, BpfObject, BpfRingBuffer } from '../../src/kernel/index.js';
import { bpfSkipReason, requirePrerequisites } from '../helpers/bpf-prerequisites.js';

const skip = bpfSkipReason();
const dir = mkdtempSync(join(tmpdir(), 'meshprof-rb-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const SYS_OPENAT = 257;

describe('ring buffer consumer', () => {
  // A missing prerequisite fails the run instead of skipping it.
  beforeAll(() => requirePrerequisites(skip));
  const compile = (): string => {
    const src = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'ringbuf.bpf.c');
    const objPath = join(dir, 'ringbuf.bpf.o');
    execFileSync('clang', ['-g', '-O2', '-target', 'bpf', '-I', dirname(buildPath('vmlinux.h')), '-c', src, '-o', objPath]);
    return objPath;
  };

  /** The test program loaded for this process's syscalls, its ring and its attached link. */
  const openSyscallRing = (): { o: BpfObject; rb: BpfRingBuffer; link: BpfLink } => {
    const o = openBpfObject('ringbuf', { path: compile() });
    try {
      const tgid = Buffer.alloc(4);
      tgid.writeUInt32LE(process.pid);
      o.setGlobal('target_tgid', tgid);
      o.load();
      return { o, rb: o.ringBuffer('events'), link: o.attach('on_sys_enter') };
    } catch (err) {
      o.destroy();
      throw err;
    }
  };

  it('returns the records this process caused, then nothing', () => {
    const { o, rb, link } = openSyscallRing();
    try {
      for (let i = 0; i < 5; i++) readFileSync('/proc/self/stat');
      link.destroy();
      // What a worker sleeps on: readable while records wait.
      expect(waitReadable([rb.fd], 1000)).toEqual([true]);
      const records = [...rb.poll(100), ...rb.poll(0)];
      expect(records.length).toBeGreaterThanOrEqual(5);
      for (const r of records) {
        expect(r.length).toBe(16);
        expect(r.readBigUInt64LE(0)).toBe(BigInt(process.pid));
      }
      expect(records.filter((r) => r.readBigInt64LE(8) === BigInt(SYS_OPENAT)).length).toBeGreaterThanOrEqual(5);
      expect(rb.poll(0)).toEqual([]);
      rb.close();
      rb.close();
    } finally {
      o.destroy();
    }
  });

  it('hands a poll of thousands of records over in one buffer, each whole and in order', () => {
    const { o, rb, link } = openSyscallRing();
    try {
      // a read is about five syscalls (openat, fstat, read, read, close): over 3,000 records of 16 bytes, 72 KB
      // packed, past the addon's first 64 KiB, and at 24 bytes each in the kernel within the 256 KiB ring
      for (let i = 0; i < 1000; i++) readFileSync('/proc/self/stat');
      link.destroy();
      const batch = rb.pollBatch(0);
      expect(batch.lost).toBe(0);
      expect(batch.count).toBeGreaterThanOrEqual(3000);
      let seen = 0;
      let openats = 0;
      forEachRingRecord(batch, (bytes, offset, length) => {
        expect(length).toBe(16);
        expect(offset % 8).toBe(0);
        expect(bytes.readBigUInt64LE(offset)).toBe(BigInt(process.pid));
        if (bytes.readBigInt64LE(offset + 8) === BigInt(SYS_OPENAT)) openats++;
        seen++;
      });
      expect(seen).toBe(batch.count);
      expect(openats).toBeGreaterThanOrEqual(1000);
      expect(rb.lost).toBe(0);
      expect(rb.pollBatch(0).count).toBe(0);
      rb.close();
    } finally {
      o.destroy();
    }
  });
});
