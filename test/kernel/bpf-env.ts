import { existsSync } from 'node:fs';
import { buildPath } from '../../src/kernel/index.js';

/**
 * Why real-BPF tests cannot run here, or undefined when they can. Under
 * CI=true they never skip: a missing prerequisite must fail the run.
 */
export function bpfSkipReason(): string | undefined {
  if (process.env.CI === 'true') return undefined;
  if (process.getuid?.() !== 0) return 'needs root (CAP_BPF, CAP_PERFMON) to load BPF';
  if (!existsSync(buildPath('meshprof.node'))) return 'build/meshprof.node missing: run `npm run build`';
  return undefined;
}

/** Why a test needing these tools cannot run, or undefined; never a reason under CI=true. */
export function toolSkipReason(paths: readonly string[], reason: string): string | undefined {
  if (process.env.CI === 'true') return undefined;
  return paths.every((p) => existsSync(p)) ? undefined : reason;
}

/** Throws when a prerequisite is missing, so the tests fail with the reason rather than skip. */
export function requirePrerequisites(reason: string | undefined): void {
  if (reason !== undefined) throw new Error(`cannot run real-BPF tests: ${reason}`);
}
