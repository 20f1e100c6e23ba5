/** The exec watcher thread as built: its worker script exists only in dist (run `npm run build` first). */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from './repo-root.js';

type ThreadModule = typeof import('../../src/process/exec-watcher-thread.js');

/** URL of dist's exec-watcher-thread.js, for scripts that import it in a child process. */
export const execWatcherThreadUrl = pathToFileURL(join(repoRoot, 'dist', 'src', 'process', 'exec-watcher-thread.js')).href;

/** createExecWatcherThread from dist. */
export async function loadCreateExecWatcherThread(): Promise<ThreadModule['createExecWatcherThread']> {
  return (await import(execWatcherThreadUrl) as ThreadModule).createExecWatcherThread;
}
