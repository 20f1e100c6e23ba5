/**
 * A Node module-resolution hook that logs every resolved URL to the file
 * named by MESHPROF_TEST_RESOLVED_LOG: tests that check what a command loads
 * (the bundle and nothing of dist/src, no Kubernetes client without a
 * cluster) write these two files into a directory and run node with
 * `--import <dir>/register.mjs`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const HOOKS = `import { appendFileSync } from 'node:fs';
let out;
export async function initialize(data) { out = data.out; }
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(out, r.url + '\\n');
  return r;
}
`;

const REGISTER = `import { register } from 'node:module';
register('./hooks.mjs', import.meta.url, { data: { out: process.env.MESHPROF_TEST_RESOLVED_LOG } });
`;

/** Writes hooks.mjs and register.mjs into `dir`; returns register.mjs's path for `--import`. */
export function writeResolveLogHooks(dir: string): string {
  writeFileSync(join(dir, 'hooks.mjs'), HOOKS);
  const register = join(dir, 'register.mjs');
  writeFileSync(register, REGISTER);
  return register;
}
