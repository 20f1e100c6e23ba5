/**
 * The one check that a test can use real BPF here. A test needing root and
 * BPF calls requirePrerequisites(bpfSkipReason()) in a beforeAll, so that a
 * missing prerequisite fails its tests with the reason. Under CI=true there
 * is never a reason: the tests run and fail on their own if the machine
 * cannot run them, rather than being skipped.
 */
import { existsSync } from 'node:fs';
import { buildPath } from '../../src/kernel/index.js';

/** True when the suite must not skip anything (CI sets CI=true). */
export const mustRun = process.env.CI === 'true';

/** Why real-BPF tests cannot run here, or undefined when they can (always undefined under CI=true). */
export function bpfSkipReason(): string | undefined {
  if (mustRun) return undefined;
  if (process.getuid?.() !== 0) return 'needs root (CAP_BPF, CAP_PERFMON) to load BPF';
  if (!existsSync(buildPath('meshprof.node'))) return 'build/meshprof.node missing: run `npm run build`';
  return undefined;
}

/** Why a test needing these tools cannot run, or undefined; never a reason under CI=true. */
export function toolSkipReason(paths: readonly string[], reason: string): string | undefined {
  if (mustRun) return undefined;
  return paths.every((p) => existsSync(p)) ? undefined : reason;
}

/** Throws when a prerequisite is missing, so the tests fail with the reason rather than skip. */
export function requirePrerequisites(reason: string | undefined): void {
  if (reason !== undefined) throw new Error(`cannot run real-BPF tests: ${reason}`);
}
