import type { Writable } from 'node:stream';
import { formatDurationMs } from '../config/duration.js';

/** A one-line progress display that only draws on a terminal. */
export interface ProgressLine {
  /** Whether it draws (stderr is a terminal): its count should then move every second. */
  readonly live: boolean;
  update(msLeft: number, count: number): void;
  done(): void;
}

/** Draws "recording: 1m7s left, 1234 samples" in place on a TTY; silent elsewhere. */
export function createProgressLine(out: Writable & { isTTY?: boolean }, unit: string): ProgressLine {
  const tty = out.isTTY === true;
  let drawn = false;
  return {
    live: tty,
    update(msLeft, count) {
      if (!tty) return;
      out.write(`\r\x1b[Krecording: ${formatDurationMs(Math.ceil(msLeft / 1000) * 1000)} left, ${count} ${unit} (Ctrl-C stops and writes the file)`);
      drawn = true;
    },
    done() {
      if (tty && drawn) out.write('\r\x1b[K');
    },
  };
}
