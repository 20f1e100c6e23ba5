/** A tiny typed listener list for the process table's events. */

/** Stops a listener registered with `add`. */
export type Unsubscribe = () => void;

/** Listeners of one event type. */
export interface ListenerSet<T> {
  add(listener: (event: T) => void): Unsubscribe;
  /** Calls every listener; one that throws does not stop the others, its error is rethrown afterwards. */
  emit(event: T): void;
}

/** Creates an empty listener list. */
export function createListenerSet<T>(): ListenerSet<T> {
  const listeners = new Set<(event: T) => void>();
  return {
    add(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    emit(event) {
      let first: unknown;
      for (const l of [...listeners]) {
        try {
          l(event);
        } catch (err) {
          first ??= err;
        }
      }
      if (first !== undefined) throw first;
    },
  };
}
