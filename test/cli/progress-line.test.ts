import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgressLine } from '../../src/cli/progress-line.js';

function sink(tty: boolean): PassThrough & { isTTY?: boolean; text: () => string } {
  const out = new PassThrough() as PassThrough & { isTTY?: boolean; text: () => string };
  if (tty) out.isTTY = true;
  const chunks: string[] = [];
  out.on('data', (c: Buffer) => chunks.push(c.toString()));
  out.text = () => chunks.join('');
  return out;
}

describe('progress line', () => {
  it.each([
    ['draws in place on a terminal, and is live (record then drains every second for its count)', true,
      '\r\x1b[Krecording: 5s left, 17 samples (Ctrl-C stops and writes the file)\r\x1b[K'],
    ['writes nothing elsewhere, and is not live', false, ''],
  ])('%s', async (_, tty, expected) => {
    const out = sink(tty);
    const line = createProgressLine(out, 'samples');
    expect(line.live).toBe(tty);
    line.update(4200, 17);
    line.done();
    await new Promise((r) => setImmediate(r));
    expect(out.text()).toBe(expected);
  });
});
