/**
 * `meshprof record --type network` of some pids while a load runs, stopped
 * with SIGINT once the last poll has seen it all.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { startCli } from './start-cli.js';

/** Records the network of `pids` into `output` while `load` runs; returns the CLI's stderr. */
export async function recordNetwork(pids: readonly number[], output: string, load: () => Promise<void>, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const cli = startCli(['record', '--type', 'network', ...pids.flatMap((p) => ['--pid', String(p)]), '-d', '120s', '-o', output], env);
  await cli.started;
  try {
    await load();
  } finally {
    // the collector drains every second; two polls make sure the last exchanges are in
    await sleep(2500);
    cli.child.kill('SIGINT');
  }
  const { code, stderr } = await cli.done;
  if (code !== 0) throw new Error(`meshprof exited ${code}: ${stderr}`);
  return stderr;
}
