// Where a release function's uprobe goes: past flag-only tests to an instruction the kernel emulates.
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findAllocatorProbes } from '../../src/samplers/allocator-probes.js';
import { cheapProbeOffset } from '../../src/samplers/probe-site.js';

const LIBC = execFileSync('gcc', ['-print-file-name=libc.so.6'], { encoding: 'utf8' }).trim();
const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
const TEST_RDI = [0x48, 0x85, 0xff];
const CMPB_RIP = [0x80, 0x3d, 0x01, 0x02, 0x14, 0x00, 0x00];

describe('cheapProbeOffset', () => {
  it('keeps the entry when it is emulated already (push, nop)', () => {
    expect(cheapProbeOffset(bytes(0x41, 0x54, 0x55), true)).toBe(0);
    expect(cheapProbeOffset(bytes(0x55, 0x48, 0x89, 0xe5), false)).toBe(0);
    expect(cheapProbeOffset(bytes(0x90, 0x90), true)).toBe(0);
  });

  it('passes glibc free()\'s NULL test to its first push, for a release function only', () => {
    const free = bytes(...TEST_RDI, 0x0f, 0x84, 0xbf, 0x00, 0x00, 0x00, 0x55, 0x48, 0x8d, 0x77, 0xf0);
    expect(cheapProbeOffset(free, true)).toBe(9);
    expect(cheapProbeOffset(free, false)).toBe(0);
    expect(cheapProbeOffset(bytes(...TEST_RDI, 0x74, 0x10, 0x41, 0x54), true)).toBe(5);
    // a CET build's endbr64 first
    expect(cheapProbeOffset(bytes(0xf3, 0x0f, 0x1e, 0xfa, ...TEST_RDI, 0x74, 0x10, 0x55), true)).toBe(9);
    expect(cheapProbeOffset(bytes(0xf3, 0x0f, 0x1e, 0xfa, 0x55), false)).toBe(4);
  });

  it('passes a flag-only compare, but not a branch that leaves an allocation path', () => {
    expect(cheapProbeOffset(bytes(...CMPB_RIP, 0x41, 0x54), false)).toBe(7);
    // aligned_alloc: cmpb; je: the branch is the common path, not a NULL to ignore
    expect(cheapProbeOffset(bytes(...CMPB_RIP, 0x74, 0x07, 0x55), false)).toBe(0);
    expect(cheapProbeOffset(bytes(...CMPB_RIP, 0x74, 0x07, 0x55), true)).toBe(0);
  });

  it('keeps the entry for anything else, or when the bytes run out', () => {
    expect(cheapProbeOffset(bytes(0x41, 0x89, 0xca, 0x41, 0xf7), true)).toBe(0);
    expect(cheapProbeOffset(bytes(...TEST_RDI), true)).toBe(0);
    expect(cheapProbeOffset(bytes(), true)).toBe(0);
  });

  it('puts this libc\'s free probe on a push, its malloc probes on the entry', () => {
    const probes = findAllocatorProbes(LIBC);
    const fd = openSync(LIBC, 'r');
    try {
      const at = (offset: number): number[] => {
        const b = Buffer.alloc(2);
        readSync(fd, b, 0, 2, offset);
        return [...b];
      };
      const free = probes.find((p) => p.symbol === 'free')!;
      const [b0, b1] = at(free.offset);
      expect((b0! >= 0x50 && b0! <= 0x57) || (b0 === 0x41 && b1! >= 0x50 && b1! <= 0x57) || b0 === 0x90, `free probe byte 0x${b0!.toString(16)}`).toBe(true);
      const malloc = probes.filter((p) => p.symbol === 'malloc');
      expect(malloc.map((p) => p.offset)).toEqual([malloc[0]!.offset, malloc[0]!.offset]);
    } finally {
      closeSync(fd);
    }
  });
});
