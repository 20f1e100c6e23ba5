/**
 * `-o` checked before a recording starts: a bad path found at the end would
 * lose the whole recording.
 */
import { UsageError } from './usage-error.js';

/** Throws a UsageError naming `-o` when `output` cannot be written. */
export async function checkOutputFlag(output: string): Promise<void> {
  // imported here: the writer's dependencies load only for commands that write
  const { checkOutputPath } = await import('../export/write-profile-file.js');
  try {
    checkOutputPath(output);
  } catch (err) {
    throw new UsageError(`-o ${(err as Error).message}`);
  }
}
