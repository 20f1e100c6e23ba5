/**
 * The checks of settings that name local paths, run at start (they touch the
 * filesystem, so they are not part of the pure readers): the host's /proc
 * must be a procfs with processes in it, and the output directory must be,
 * or become, a writable directory. Each error names the variable.
 */
import { readdirSync } from 'node:fs';
import { ConfigIssues } from './config-error.js';
import type { EnvRecord } from './env-values.js';

/** Which variable set the host's /proc (Rover's name counts when meshprof's is unset). */
export function hostProcVariable(env: EnvRecord): string {
  return env.MESHPROF_HOST_PROC === undefined && env.ROVER_HOST_PROC_MAPPING !== undefined ? 'ROVER_HOST_PROC_MAPPING' : 'MESHPROF_HOST_PROC';
}

/** Throws when procRoot lists no process: the samplers could name nothing. */
export function checkProcRoot(procRoot: string): void {
  let names: string[];
  try {
    names = readdirSync(procRoot);
  } catch (err) {
    throw new Error(`cannot list it (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  if (!names.some((n) => /^\d+$/.test(n))) throw new Error('no process directories in it: it is not a /proc');
}

/** What the output directory check needs: LocalProfileFiles.prepare, or any check that throws with what is wrong. */
export interface PreparedDirectory {
  prepare(): void;
}

/**
 * Checks the host /proc and prepares the output directory; throws a
 * ConfigError (ConfigErrors when both are bad) naming each variable.
 */
export function checkLocalPaths(env: EnvRecord, procRoot: string, output: { readonly dir: string; readonly files: PreparedDirectory } | undefined): void {
  const issues = new ConfigIssues();
  const procVar = hostProcVariable(env);
  try {
    checkProcRoot(procRoot);
  } catch (err) {
    issues.add(procVar, `${procVar}=${procRoot}: ${(err as Error).message}: point it at the host's /proc (e.g. /host/proc in a container)`);
  }
  if (output !== undefined) {
    try {
      output.files.prepare();
    } catch (err) {
      issues.add('MESHPROF_OUTPUT_DIR', `MESHPROF_OUTPUT_DIR=${output.dir}: ${(err as Error).message} (or set MESHPROF_OUTPUT_DIR=none to write no local files)`);
    }
  }
  issues.throwIfAny();
}
