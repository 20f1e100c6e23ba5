import type { ChildProcess } from 'node:child_process';
import { afterEach, beforeAll } from 'vitest';
import { requirePrerequisites } from './bpf-prerequisites.js';
import { startFixture, type StartedFixture } from './start-fixture.js';

/**
 * A suite's fixture processes: its prerequisites required before it runs (a
 * missing one fails the run instead of skipping it), and every process
 * started through `start` (after settling `settleMs`, default 300) killed
 * after the test that started it.
 */
export function suiteFixtures(skip: string | undefined): {
  start(binary: string, args: readonly string[], settleMs?: number): Promise<StartedFixture>;
} {
  beforeAll(() => requirePrerequisites(skip));
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
  });
  return {
    async start(binary, args, settleMs = 300) {
      const child = await startFixture(binary, args, { settleMs });
      children.push(child);
      return child;
    },
  };
}
