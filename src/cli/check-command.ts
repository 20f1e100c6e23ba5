import { runFeatureProbes, type FeatureCheck } from '../kernel/feature-probes.js';

function status(c: FeatureCheck): string {
  if (c.ok) return 'ok';
  return c.required ? 'MISSING' : 'absent (optional)';
}

/** Renders the checks as an aligned table, with the fix under each failing row. */
export function formatCheckTable(checks: readonly FeatureCheck[]): string {
  const nameWidth = Math.max(7, ...checks.map((c) => c.name.length));
  const statusWidth = Math.max(6, ...checks.map((c) => status(c).length));
  const lines = [`${'feature'.padEnd(nameWidth)}  ${'status'.padEnd(statusWidth)}  detail`];
  for (const c of checks) {
    lines.push(`${c.name.padEnd(nameWidth)}  ${status(c).padEnd(statusWidth)}  ${c.detail}`);
    if (!c.ok && c.fix !== '') lines.push(`${''.padEnd(nameWidth)}  ${''.padEnd(statusWidth)}  -> ${c.fix}`);
  }
  const failing = checks.filter((c) => c.required && !c.ok);
  lines.push('');
  lines.push(failing.length === 0
    ? 'profiling can work here: on-CPU and off-CPU samplers are supported'
    : `profiling cannot work here: fix ${failing.map((c) => c.name).join(', ')}`);
  return `${lines.join('\n')}\n`;
}

/** `meshprof check`: exit 0 when every required feature is there, else 1. */
export async function runCheckCommand(): Promise<number> {
  const checks = runFeatureProbes();
  process.stdout.write(formatCheckTable(checks));
  return checks.some((c) => c.required && !c.ok) ? 1 : 0;
}
