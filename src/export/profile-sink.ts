import type { Profile } from '../profile/model.js';
import type { ReceivedProfiles } from '../receive/received-profiles.js';

/** Where each interval's profiles go: local files, exporters. */
export interface ProfileSink {
  readonly name: string;
  /** Takes one interval's profile of one kind; should not wait on a backend. */
  consume(kind: string, profile: Profile): Promise<void>;
  /**
   * Takes one request the receiver accepted, at once (queued, never
   * blocking). Sinks without it get received profiles merged per interval
   * through consume(), under kinds named `received-<type>`.
   */
  forward?(received: ReceivedProfiles): void;
  /** Flushes what is queued; must return by the deadline. */
  shutdown(deadlineMs: number): Promise<void>;
}
