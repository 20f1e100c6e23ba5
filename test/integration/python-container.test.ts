// Python frames of a process in its own pid and mount namespace with its own
// root (a tmpfs it pivots into, as container runtimes do): the interpreter and
// the script exist only inside, at paths the host does not have, so the
// detector, the symbolizer and the code-object reader must all go through
// /proc/PID/root.
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bpfSkipReason, requirePrerequisites } from '../helpers/bpf-prerequisites.js';
import { record } from '../helpers/record.js';
import { repoRoot } from '../helpers/repo-root.js';

const hostPython = '/usr/bin/python3.11';
const fixture = join(repoRoot, 'test', 'fixtures', 'lang-python', 'checkout.py');
/** Paths inside the container's root. */
const innerPython = '/opt/shop/bin/python';
const innerScript = '/app/checkout.py';

/** A staging tree with a copy of python3.11 (a different file from the host's) and its shared libraries. */
function buildRoot(root: string): void {
  const put = (from: string, to: string): void => {
    mkdirSync(dirname(join(root, to)), { recursive: true });
    copyFileSync(from, join(root, to));
  };
  put(hostPython, innerPython);
  put(fixture, innerScript);
  const ldd = execFileSync('ldd', [hostPython], { encoding: 'utf8' });
  for (const m of ldd.matchAll(/(\/\S+\.so[.\d]*)/g)) put(m[1]!, m[1]!);
  // the standard library is bind-mounted read-only inside the container's mount namespace
  mkdirSync(join(root, 'usr', 'lib', 'python3.11'), { recursive: true });
  mkdirSync(join(root, 'old'));
}

/**
 * The container's shell: a tmpfs root only its mount namespace sees, filled
 * from the staging tree, then pivot_root into it (the old root stays at /old,
 * unused), so /proc/PID/maps shows the host the container's own paths.
 */
function containerScript(stage: string, root: string): string {
  return [
    `mount -t tmpfs tmpfs '${root}'`,
    `cp -a '${stage}/.' '${root}/'`,
    `mount --bind -o ro /usr/lib/python3.11 '${root}/usr/lib/python3.11'`,
    `cd '${root}'`,
    'pivot_root . old',
    `exec ${innerPython} ${innerScript} checkout 60`,
  ].join(' && ');
}

/** The pid of the first child of `pid` once it runs `exe`. */
async function childRunning(pid: number, exe: string): Promise<number> {
  for (let i = 0; i < 200; i++) {
    try {
      const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
      for (const k of kids) if (readFileSync(`/proc/${k}/cmdline`, 'utf8').startsWith(exe)) return k;
    } catch {
      // the child is being forked or exec'd
    }
    await sleep(50);
  }
  throw new Error(`no child of ${pid} runs ${exe}`);
}

describe('Python frames in a container (own pid and mount namespace, own root; real BPF, as root)', () => {
  let stage = '';
  let root = '';
  let container: ChildProcessWithoutNullStreams | undefined;
  let pid = 0;

  beforeAll(async () => {
    requirePrerequisites(bpfSkipReason());
    expect(existsSync(hostPython), `${hostPython} missing: apt-get install python3.11`).toBe(true);
    stage = mkdtempSync(join(tmpdir(), 'python-container-stage-'));
    root = mkdtempSync(join(tmpdir(), 'python-container-root-'));
    buildRoot(stage);
    container = spawn('unshare', ['--pid', '--mount', '--fork', 'sh', '-c', containerScript(stage, root)],
      { stdio: 'pipe', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', PYTHONHOME: '/usr' } });
    await new Promise<void>((resolve, reject) => {
      let err = '';
      container!.stderr.on('data', (c: Buffer) => { err += c.toString(); });
      container!.stdout.on('data', (c: Buffer) => { if (c.toString().includes('ready')) resolve(); });
      container!.once('exit', (code) => reject(new Error(`the container exited (${String(code)}) before it was ready: ${err}`)));
    });
    pid = await childRunning(container.pid!, innerPython);
  }, 60_000);

  afterAll(() => {
    // killing unshare's child (pid 1 of the namespace) ends the namespace
    if (pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    container?.kill('SIGKILL');
    for (const d of [stage, root]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('the interpreter and script exist only inside: the host sees them through /proc/PID/root', () => {
    expect(existsSync(innerPython)).toBe(false);
    expect(existsSync(innerScript)).toBe(false);
    expect(existsSync(join(root, innerPython))).toBe(false);
    expect(readFileSync(`/proc/${pid}/maps`, 'utf8')).toContain(` ${innerPython}\n`);
    expect(existsSync(`/proc/${pid}/root${innerPython}`)).toBe(true);
    // pid 1 in its own namespace
    const nspid = /^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]!.split(/\s+/);
    expect(nspid).toEqual([String(pid), '1']);
  });

  it('handler → checkout_total in ≥ 80% of on-CPU samples, named with the file as the container sees it', async () => {
    const r = await record('oncpu', [pid], 4000);
    let chained = 0;
    for (const s of r.stacks) {
      const i = s.names.indexOf('checkout_total');
      if (i >= 0 && s.names.indexOf('handler', i + 1) > i && s.names.includes('_PyEval_EvalFrameDefault')) chained += s.count;
    }
    console.log(`container python3.11: handler → checkout_total under _PyEval_EvalFrameDefault in ${chained} of ${r.total} samples`);
    expect(r.total).toBeGreaterThan(20);
    expect(chained / r.total).toBeGreaterThanOrEqual(0.8);
    const frame = r.profile.samples.flatMap((s) => s.frames).find((f) => f.functionName === 'checkout_total');
    expect(frame).toMatchObject({ kind: 'cpython', fileName: innerScript });
    // the native frames come from the container's copy of the interpreter
    const evalFrame = r.stacks.find((s) => s.names.includes('_PyEval_EvalFrameDefault'));
    expect(evalFrame?.files[evalFrame.names.indexOf('_PyEval_EvalFrameDefault')]).toBe(innerPython);
  }, 60_000);
});
