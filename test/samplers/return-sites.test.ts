// Return instructions of a function, decoded (iced-x86), never byte-scanned.
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { goStackCheckBranch, returnOffsets } from '../../src/samplers/return-sites.js';

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

describe('returnOffsets', () => {
  it('finds ret, ret imm16 and rep ret, and not a 0xc3 inside another instruction', () => {
    // mov $0xc3,%eax; ret; mov %rax,%rbx; ret $8; rep ret; int3
    const code = bytes(0xb8, 0xc3, 0x00, 0x00, 0x00, 0xc3, 0x48, 0x89, 0xc3, 0xc2, 0x08, 0x00, 0xf3, 0xc3, 0xcc);
    expect(returnOffsets(code)).toEqual([5, 9, 12]);
  });

  it('rejects bytes that do not decode', () => {
    expect(() => returnOffsets(bytes(0x48, 0x89, 0xc3, 0x06))).toThrow(/^decoding function: invalid instruction at \+3/);
  });

  it('agrees with objdump on a long libc function', () => {
    const libc = '/lib/x86_64-linux-gnu/libc.so.6';
    // getaddrinfo: 8.6 kB of code, where a byte scan finds many a 0xc3 that is no return
    const line = execFileSync('nm', ['-D', '-S', libc], { encoding: 'utf8' }).split('\n').find((l) => / T getaddrinfo@@/.test(l));
    expect(line).toBeDefined();
    const [addr, size] = line!.split(' ').map((f) => parseInt(f, 16));
    // libc's text segment has file offset == vaddr
    const code = Buffer.alloc(size!);
    const fd = openSync(libc, 'r');
    try {
      readSync(fd, code, 0, size!, addr!);
    } finally {
      closeSync(fd);
    }
    const dump = execFileSync('objdump', ['-d', `--start-address=${addr}`, `--stop-address=${addr! + size!}`, libc], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const expected = [...dump.matchAll(/^\s*([0-9a-f]+):\s(?:[0-9a-f]{2} )+\s*(?:rep |bnd |notrack )?ret/gm)].map((m) => parseInt(m[1]!, 16) - addr!);
    expect(expected.length).toBeGreaterThan(0);
    expect(returnOffsets(code)).toEqual(expected);
  });
});

describe('goStackCheckBranch', () => {
  const JBE = [0x0f, 0x86, 0xc2, 0x03, 0x00, 0x00];
  it('finds the jbe of Go\'s stack check, with or without the frame-size lea (Go 1.19\'s tls.(*Conn).Read and Write)', () => {
    // cmp 0x10(%r14),%rsp; jbe; sub $0x68,%rsp
    expect(goStackCheckBranch(bytes(0x49, 0x3b, 0x66, 0x10, ...JBE, 0x48, 0x83, 0xec, 0x68))).toBe(4);
    // lea -0x68(%rsp),%r12; cmp 0x10(%r14),%r12; jbe
    expect(goStackCheckBranch(bytes(0x4c, 0x8d, 0x64, 0x24, 0x98, 0x4d, 0x3b, 0x66, 0x10, ...JBE))).toBe(9);
  });

  it('finds none in a function that does not open with one', () => {
    // push %rbp; mov %rsp,%rbp (C), a jne after the cmp, a jbe with nothing compared
    expect(goStackCheckBranch(bytes(0x55, 0x48, 0x89, 0xe5, ...JBE))).toBeUndefined();
    expect(goStackCheckBranch(bytes(0x49, 0x3b, 0x66, 0x10, 0x0f, 0x85, 0, 0, 0, 0))).toBeUndefined();
    expect(goStackCheckBranch(bytes(...JBE))).toBeUndefined();
  });
});
