/**
 * `meshprof record --type network` keeps the on-CPU stacks of the thread
 * serving a slow request (real BPF, as root): a C server burns 150 ms in
 * burn_slow_request() for GET /slow, and each slow request of the .json
 * carries stacks through it, named by the symbolizer; quick requests keep none.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NetworkView } from '../../src/encode/network-view.js';
import { bpfSkipReason, requirePrerequisites, toolSkipReason } from '../helpers/bpf-prerequisites.js';
import { compileFixture } from '../helpers/compile-fixture.js';
import { freePort } from '../helpers/free-port.js';
import { recordNetwork } from '../helpers/record-network.js';

const run = promisify(execFile);
const skip = bpfSkipReason() ?? toolSkipReason(['/usr/bin/curl', '/usr/bin/gcc'], 'needs curl and gcc (apt)');

describe('on-CPU stacks of slow requests (real BPF, as root)', () => {
  beforeAll(() => requirePrerequisites(skip));
  let server: ChildProcess;
  let port: number;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshprof-request-stacks-'));
    const path = compileFixture('slow-http.c', { name: 'slow-http', flags: ['-O1', '-g', '-fno-omit-frame-pointer'] });
    port = await freePort();
    server = spawn(path, [String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      server.stdout?.once('data', () => resolve());
      server.once('exit', (code) => reject(new Error(`slow-http exited ${code}`)));
    });
  }, 60_000);

  afterAll(() => {
    server?.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('gives each slow request the serving thread\'s stacks through burn_slow_request, and quick ones none', async () => {
    const out = join(dir, 'net.json');
    const html = join(dir, 'net.html');
    const load = async (): Promise<void> => {
      for (let i = 0; i < 3; i++) await run('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${port}/slow`]);
      for (let i = 0; i < 5; i++) await run('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${port}/quick`]);
    };
    await recordNetwork([server.pid!], out, load);
    const view = JSON.parse(readFileSync(out, 'utf8')) as NetworkView;
    const slow = view.notable.filter((n) => n.path === '/slow' && n.side === 'server');
    console.log(slow.map((n) => `${(n.durationSeconds * 1000).toFixed(0)} ms: ${n.stacks.map((s) => `${s.samples}× ${s.frames.slice(0, 4).join(' ← ')}`).join(' | ')}`).join('\n'));
    expect(slow).toHaveLength(3);
    for (const n of slow) {
      expect(n.durationSeconds).toBeGreaterThanOrEqual(0.15);
      const through = n.stacks.filter((s) => s.frames.includes('burn_slow_request'));
      expect(through.length).toBeGreaterThan(0);
      // the frame-pointer walk goes on to the caller
      expect(through.some((s) => s.frames.indexOf('handle_slow') > s.frames.indexOf('burn_slow_request'))).toBe(true);
    }
    // quick requests are not kept, so none carries stacks
    expect(view.notable.filter((n) => n.path === '/quick')).toEqual([]);

    // the page shows the most sampled stack of each slow request
    await recordNetwork([server.pid!], html, async () => {
      await run('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${port}/slow`]);
    });
    expect(readFileSync(html, 'utf8')).toContain('burn_slow_request');
  }, 180_000);
});
