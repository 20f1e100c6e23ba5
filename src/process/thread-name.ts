/**
 * Names the calling OS thread, as `top -H`, `ps -L` and /proc/PID/task/TID/comm
 * show it: Node leaves every thread named after the process ("node"), so an
 * operator (or the peers benchmark) could not tell the exec watcher from a
 * table builder.
 */
import { writeFileSync } from 'node:fs';

/** The kernel keeps 15 bytes of a thread's name. */
export const MAX_THREAD_NAME = 15;

/**
 * Sets the calling thread's name; a synchronous write runs on the calling
 * thread, and /proc/thread-self is that thread's directory. Returns false
 * where /proc cannot be written (a read-only /proc): the name is cosmetic.
 */
export function nameCurrentThread(name: string, procRoot = '/proc'): boolean {
  try {
    writeFileSync(`${procRoot}/thread-self/comm`, name.slice(0, MAX_THREAD_NAME));
    return true;
  } catch {
    return false;
  }
}
