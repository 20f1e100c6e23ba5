import type { Profile } from '../profile/model.js';

/** Where each interval's profiles go: local files, exporters. */
export interface ProfileSink {
  readonly name: string;
  /** Takes one interval's profile of one kind; should not wait on a backend. */
  consume(kind: string, profile: Profile): Promise<void>;
  /** Flushes what is queued; must return by the deadline. */
  shutdown(deadlineMs: number): Promise<void>;
}
