import { describe, expect, it } from 'vitest';
import { libbpfLogText, parseLibbpfLog } from '../../src/kernel/index.js';

describe('libbpf log records', () => {
  it('keeps each message whole with its level', () => {
    const raw = 'd:libbpf: loading object\n\x1ew:libbpf: prog: -- BEGIN PROG LOAD LOG --\nR0 invalid\n-- END --\n\x1ei:x\x1e';
    const msgs = parseLibbpfLog(raw);
    expect(msgs).toEqual([
      { level: 'debug', text: 'libbpf: loading object\n' },
      { level: 'warn', text: 'libbpf: prog: -- BEGIN PROG LOAD LOG --\nR0 invalid\n-- END --\n' },
      { level: 'info', text: 'x' },
    ]);
    expect(libbpfLogText(msgs)).toBe('libbpf: loading object\nlibbpf: prog: -- BEGIN PROG LOAD LOG --\nR0 invalid\n-- END --\nx');
    expect(parseLibbpfLog('')).toEqual([]);
  });
});
