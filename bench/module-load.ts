/**
 * Benchmark (issue 13): what loading our code costs, bundled (dist/bundle,
 * scripts/bundle.mjs) against the same code as tsc emits it (dist/src), in a
 * fresh node process each time: the CPU of importing `record`'s command
 * module (everything `record` needs before it loads BPF), and of a worker
 * thread's first job on a small file (/usr/bin/true), load included. Unlike
 * the CLI's whole runs (peers-cli-cost), nothing here depends on what else
 * runs on the host, so a 10% difference shows on a busy machine.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../src/kernel/index.js';
import { benchResult, benchRuns, isBenchScript, measureInterleaved, median, runBenchScript, type Benchmark, type BenchResult } from './harness.js';

// Prints the CPU (ms, every thread) of one import or one worker job.
const CHILD = `
import { Worker } from 'node:worker_threads';
const [kind, target, file] = process.argv.slice(1);
const before = process.cpuUsage();
if (kind === 'import') {
  await import(target);
} else {
  // Not this script's --input-type; V8 flags are the process's anyway.
  const w = new Worker(new URL(target), { execArgv: [] });
  const reply = await new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
    w.postMessage({ id: 1, path: file });
  });
  if (!reply.ok) throw new Error(reply.message);
  await w.terminate();
}
const u = process.cpuUsage(before);
process.stdout.write(String((u.user + u.system) / 1000));
`;

/** CPU ms of one import or worker job, in a new node with the launcher's flags. */
function childCpuMs(kind: 'import' | 'worker', target: string, file = ''): number {
  const out = execFileSync(process.execPath, ['--max-semi-space-size=1', '--input-type=module', '-e', CHILD, kind, target, file], { encoding: 'utf8' });
  const ms = Number(out.trim());
  if (!Number.isFinite(ms)) throw new Error(`reading the child's CPU: "${out.trim()}"`);
  return ms;
}

/** The dist/bundle file holding the dist/src module `module` as its entry (record-command-HASH.js). */
function bundleFileOf(root: string, module: string): string {
  const held = JSON.parse(readFileSync(join(root, 'dist', 'bundle', 'modules.json'), 'utf8')) as Record<string, string[]>;
  const base = module.split('/').pop()!.replace(/\.js$/, '');
  const out = Object.entries(held).find(([o, mods]) => o.split('/').pop()!.startsWith(`${base}-`) && mods.includes(module))?.[0];
  if (out === undefined) throw new Error(`finding ${module} in dist/bundle/modules.json: run scripts/setup.sh --build-only`);
  return join(root, out);
}

async function run(): Promise<BenchResult> {
  const root = packageRoot();
  const url = (p: string): string => pathToFileURL(p).href;
  const runs = benchRuns(7);
  const record = await measureInterleaved(runs,
    () => childCpuMs('import', url(join(root, 'dist', 'src', 'cli', 'record-command.js'))),
    () => childCpuMs('import', url(bundleFileOf(root, 'dist/src/cli/record-command.js'))));
  const metrics: Record<string, number> = {};
  for (const [name, src] of [['table-builder-worker', 'unwind'], ['symbol-table-worker', 'symbolize']] as const) {
    const w = await measureInterleaved(runs,
      () => childCpuMs('worker', url(join(root, 'dist', 'src', src, `${name}.js`)), '/usr/bin/true'),
      () => childCpuMs('worker', url(join(root, 'dist', 'bundle', `${name}.js`)), '/usr/bin/true'));
    metrics[`${name}DistSrcMs`] = Math.round(median(w.baseline));
    metrics[`${name}BundleMs`] = Math.round(median(w.measured));
  }
  return benchResult({
    name: 'module-load',
    unit: 'ms CPU',
    baselineLabel: 'import dist/src/cli/record-command.js in a fresh node',
    measuredLabel: 'the same module from dist/bundle',
    samples: record,
    metrics,
    notes: ['worker figures: a worker started on its script and its first job on /usr/bin/true done, CPU of every thread'],
  });
}

export const moduleLoad: Benchmark = {
  name: 'module-load',
  description: 'CPU of loading record\'s code and of a worker\'s first job: dist/bundle against dist/src',
  run,
};

if (isBenchScript(import.meta.url)) runBenchScript(moduleLoad);
