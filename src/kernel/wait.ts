/**
 * Waits on file descriptors. For worker threads, blocking ones: one thread
 * sleeps in the kernel until a ring buffer has records or another thread
 * signals a wake fd (fd numbers are the same in every thread of the process,
 * so a wake fd made on the main thread can be passed to a worker as a
 * number). For the main thread, watches on its event loop: a ring buffer is
 * read when it has records, instead of on a timer that wakes the process
 * whether or not anything happened.
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

/** A readiness watch on the event loop; close() ends it (idempotent). */
export interface FdWatch {
  close(): void;
}

/**
 * Calls `onReadable` on this thread's event loop whenever `fd` is readable
 * (a ring buffer's epoll fd: records wait). Level-triggered: the callback
 * must consume what made it readable, or it is called again at once. The
 * watch does not keep the process alive; `fd` must stay open until close().
 */
export function watchReadable(fd: number, onReadable: () => void): FdWatch {
  const native = loadNativeAddon();
  const handle = native.fdWatchStart(fd, onReadable);
  let closed = false;
  return {
    close: () => {
      if (!closed) native.fdWatchStop(handle);
      closed = true;
    },
  };
}
