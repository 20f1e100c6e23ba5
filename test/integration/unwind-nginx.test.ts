import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bpfSkipReason, toolSkipReason, requirePrerequisites } from '../helpers/bpf-prerequisites.js';
import { record, startMs, type Recording } from '../helpers/record.js';
import { freePort } from '../helpers/free-port.js';

const skip = bpfSkipReason() ?? toolSkipReason(['/usr/sbin/nginx', '/usr/bin/wrk'], 'needs nginx and wrk (apt)');


/** Share of the samples whose stack names ngx_worker_process_cycle or main. */
function rooted(rec: Recording): number {
  const hit = rec.stacks.filter((s) => s.names.includes('ngx_worker_process_cycle') || s.names.includes('main'));
  return hit.reduce((n, s) => n + s.count, 0) / Math.max(1, rec.total);
}

describe('Debian\'s nginx (no frame pointers) under wrk', () => {
  // A missing prerequisite fails the run instead of skipping it.
  beforeAll(() => requirePrerequisites(skip));
  let dir = '';
  let port = 0;
  let master: ChildProcess | undefined;
  let worker = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshprof-nginx-'));
    port = await freePort();
    const conf = join(dir, 'nginx.conf');
    writeFileSync(conf, `daemon off; master_process on; worker_processes 1; error_log stderr; pid ${join(dir, 'nginx.pid')};
events {}
http { access_log off; client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  server { listen 127.0.0.1:${port}; location / { return 200 'ok'; } } }
`);
    master = spawn('/usr/sbin/nginx', ['-c', conf, '-p', dir], { stdio: 'ignore' });
    for (let i = 0; i < 50 && worker === 0; i++) {
      await sleep(100);
      const children = readFileSync(`/proc/${master.pid}/task/${master.pid}/children`, 'utf8').trim();
      worker = Number(children.split(' ')[0] ?? 0);
    }
    if (worker === 0) throw new Error('starting nginx: no worker process appeared');
  });
  afterAll(() => {
    master?.kill('SIGKILL');
    if (worker) {
      try { process.kill(worker, 'SIGKILL'); } catch { /* already gone */ }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  async function underLoad(dwarfUnwind: boolean): Promise<Recording> {
    let wrk: ChildProcess | undefined;
    try {
      return await record('oncpu', [worker], 4500, dwarfUnwind, () => {
        wrk = spawn('wrk', ['-t1', '-c10', '-d5s', `http://127.0.0.1:${port}/`], { stdio: 'ignore' });
      });
    } finally {
      await new Promise((r) => (!wrk || wrk.exitCode !== null ? r(undefined) : wrk.once('exit', r)));
    }
  }

  it('≥ 95% of the worker samples reach ngx_worker_process_cycle or main; about 0% with frame pointers only', async () => {
    const on = await underLoad(true);
    const off = await underLoad(false);
    const show = (r: Recording): string => r.stacks.slice(0, 3).map((s) => `${s.count}: ${s.names.join(' <- ')}`).join('\n  ');
    console.log(`nginx worker ${worker}, dwarf (started in ${startMs.toFixed(0)} ms): ${on.total} samples, ${(rooted(on) * 100).toFixed(1)}% rooted; drops ${JSON.stringify(on.profile.drops)}\n  ${show(on)}`);
    console.log(`nginx worker ${worker}, frame pointers: ${off.total} samples, ${(rooted(off) * 100).toFixed(1)}% rooted\n  ${show(off)}`);
    expect(on.total).toBeGreaterThan(100);
    expect(rooted(on)).toBeGreaterThanOrEqual(0.95);
    expect(off.total).toBeGreaterThan(100);
    expect(rooted(off)).toBeLessThan(0.1);
    // the walk ends in _start for (nearly) every sample
    const complete = on.stacks.filter((st) => st.names[st.names.length - 1] === '_start').reduce((n, st) => n + st.count, 0);
    expect(complete / on.total).toBeGreaterThanOrEqual(0.95);
  }, 60_000);
});
