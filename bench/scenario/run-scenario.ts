/**
 * `npm run scenario [-- --quick] [--out results.json]`: the SkyWalking
 * article's study on this machine. wrk → nginx (access log long, short,
 * off) → a Node.js service traced with OpenTelemetry (sampling 100%, 1%,
 * 0%, and no SDK), proxy and service in one CPU budget; each configuration
 * is loaded with wrk while `meshprof record` takes on-CPU and off-CPU
 * profiles, and the table gives QPS and what tracing and access logging
 * cost. See docs/scenario.md.
 *
 *   --quick          10 s of load per configuration (2-3 minutes in all here)
 *   --out FILE       the rows as JSON ({"rows":[...]}, shares in percent)
 *   --dir DIR        where profiles, flame graphs and the table go (default bench/results/scenario-<time>)
 *   --cpus N         the budget (default 1 of this 2-CPU machine; wrk and the profiler run outside it)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../src/kernel/package-root.js';
import { createCpuBudget } from './cpu-budget.js';
import { CONFIGURATIONS, formatTable, runConfiguration, type Measured } from './scenario.js';
import { startSpanReceiver } from './span-receiver.js';

function flag(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

async function main(argv: readonly string[]): Promise<void> {
  const quick = argv.includes('--quick');
  const cpus = Number(flag(argv, '--cpus') ?? '1');
  if (!(cpus > 0)) throw new Error(`--cpus ${flag(argv, '--cpus')}: give a positive number of CPUs, e.g. 1 or 1.5`);
  const dir = flag(argv, '--dir') ?? join(packageRoot(), 'bench', 'results', `scenario-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const out = flag(argv, '--out');
  mkdirSync(dir, { recursive: true });
  const budget = createCpuBudget(cpus);
  const receiver = await startSpanReceiver();
  const ctx = { dir, seconds: quick ? 10 : 30, warmupSeconds: quick ? 2 : 5, budget, receiver, log: (l: string) => process.stderr.write(`scenario: ${l}\n`) };
  ctx.log(`${budget.note}; ${ctx.seconds} s of wrk per configuration; files in ${dir}`);
  const measured: Measured[] = [];
  try {
    for (const config of CONFIGURATIONS) measured.push(await runConfiguration(config, ctx));
  } finally {
    await receiver.stop();
    budget.remove();
  }
  const table = `${formatTable(measured)}\n${budget.note}\n`;
  process.stdout.write(table);
  const json = JSON.stringify({ rows: measured.map((m) => m.row) }, null, 2) + '\n';
  writeFileSync(join(dir, 'results.json'), json);
  writeFileSync(join(dir, 'table.txt'), table);
  if (out !== undefined) writeFileSync(out, json);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`scenario: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
