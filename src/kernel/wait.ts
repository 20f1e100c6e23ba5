/**
 * Blocking waits on file descriptors, for worker threads: one thread sleeps
 * in the kernel until a ring buffer has records or another thread signals a
 * wake fd. File descriptor numbers are the same in every thread of the
 * process, so a wake fd made on the main thread can be passed to a worker
 * as a number.
 */
import { loadNativeAddon } from './native-addon.js';

/** An eventfd: signal() makes it readable for good, which ends any waitReadable that includes it. */
export interface WakeFd {
  readonly fd: number;
  signal(): void;
  /** Closes the fd; idempotent. Only once no thread waits on it any more. */
  close(): void;
}

/** Creates a wake fd (Linux 2.6.27+). */
export function createWakeFd(): WakeFd {
  const native = loadNativeAddon();
  const fd = native.eventfdNew();
  let closed = false;
  return {
    fd,
    signal: () => {
      if (!closed) native.eventfdSignal(fd);
    },
    close: () => {
      if (!closed) native.closeFd(fd);
      closed = true;
    },
  };
}

/**
 * Waits until one of `fds` (at most 32) is readable, up to `timeoutMs`
 * (-1: no limit), and returns which are; all false on timeout or a signal.
 * It blocks the calling thread: use it in a worker, never on the main thread.
 */
export function waitReadable(fds: readonly number[], timeoutMs: number): boolean[] {
  const ready = loadNativeAddon().pollReadable([...fds], timeoutMs);
  return fds.map((_, i) => (ready & (1 << i)) !== 0);
}
