// JIT names: Node.js with --perf-basic-prof writes /tmp/perf-PID.map; read it as the agent does.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyPerfMapName, createPerfMapResolver, openPerfMap, parsePerfMap, readNamespacePid } from '../../src/symbolize/perf-map.js';

const script = fileURLToPath(new URL('../fixtures/lang-node/hot.js', import.meta.url));

/** Resolves when the child prints `line`. */
function waitFor(child: ChildProcessWithoutNullStreams, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      if (out.split('\n').includes(line)) {
        child.stdout.off('data', onData);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => reject(new Error(`node exited with ${String(code)} before printing ${line}`)));
  });
}

describe('perf maps of Node.js', () => {
  let child: ChildProcessWithoutNullStreams;
  beforeAll(async () => {
    child = spawn(process.execPath, ['--perf-basic-prof', script], { stdio: 'pipe' });
    await waitFor(child, 'ready');
  });
  afterAll(() => {
    child.stdin.end();
    child.kill();
    if (child.pid !== undefined) rmSync(`/tmp/perf-${child.pid}.map`, { force: true });
  });

  it('names an address inside the optimized hot function, through /proc/PID/root', async () => {
    const pid = child.pid ?? 0;
    expect(readNamespacePid(pid)).toBe(pid);
    const map = openPerfMap(pid);
    expect(map.path).toBe(`/proc/${pid}/root/tmp/perf-${pid}.map`);
    expect(map.refresh()).toBe(true);

    const entries = parsePerfMap(await readMap(pid));
    const hot = entries.filter((e) => e.rawName.startsWith('JS:') && e.rawName.includes('hotFunction'));
    // A second of spinning gets the function past the interpreter into TurboFan (`*`).
    const optimized = hot.find((e) => e.rawName.startsWith('JS:*hotFunction '));
    expect(optimized).toBeDefined();
    for (const entry of hot) {
      const inside = entry.start + entry.size / 2n;
      const found = map.lookup(inside);
      expect(found?.name).toBe('hotFunction');
      expect(found?.kind).toBe('v8js');
      expect(found?.fileName).toBe(script);
      expect(found?.line).toBe(5);
    }
    const last = entries.reduce((a, b) => (a.start + a.size > b.start + b.size ? a : b));
    expect(map.lookup(last.start + last.size + 0x100000n)).toBeUndefined();
  });

  it('reads what the runtime appends later', async () => {
    const pid = child.pid ?? 0;
    const map = openPerfMap(pid);
    map.refresh();
    const before = map.size;
    const grown = waitFor(child, 'more-ready');
    child.stdin.write('more\n');
    await grown;
    expect(map.refresh()).toBe(true);
    expect(map.size).toBeGreaterThan(before);
    const later = parsePerfMap(await readMap(pid)).find((e) => e.rawName.startsWith('JS:') && e.rawName.includes('laterFunction'));
    expect(later).toBeDefined();
    const found = map.lookup(later?.start ?? 0n);
    expect(found?.name).toBe('laterFunction');
    expect(found?.line).toBe(11);
  });
});

async function readMap(pid: number): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  return readFile(`/tmp/perf-${pid}.map`, 'utf8');
}

describe('perf map files', () => {
  let root = '';
  beforeAll(() => {
    // A fake /proc: host pid 4242 is pid 7 inside its container.
    root = mkdtempSync(join(tmpdir(), 'lang-perfmap-'));
    mkdirSync(join(root, '4242/root/tmp'), { recursive: true });
    writeFileSync(join(root, '4242/status'), 'Name:\tjava\nTgid:\t4242\nNSpid:\t4242\t7\nPPid:\t1\n');
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('follows the namespace pid, reads growth line by line and rereads a rewritten map', () => {
    const file = join(root, '4242/root/tmp/perf-7.map');
    expect(readNamespacePid(4242, root)).toBe(7);
    const map = openPerfMap(4242, { procRoot: root });
    expect(map.path).toBe(file);
    expect(map.refresh()).toBe(false);
    expect(map.lookup(0x1000n)).toBeUndefined();

    writeFileSync(file, '1000 100 void A.first()\n2000 80 void A.second()\n30');
    expect(map.refresh()).toBe(true);
    expect(map.size).toBe(2);
    expect(map.refresh()).toBe(false);
    expect(map.lookup(0x1000n)?.name).toBe('A.first()');
    expect(map.lookup(0x10ffn)?.name).toBe('A.first()');
    expect(map.lookup(0x1100n)).toBeUndefined();
    expect(map.lookup(0x2050n)).toMatchObject({ name: 'A.second()', kind: 'jvm' });

    // The writer finishes the half line and adds code that replaces part of A.first.
    appendFileSync(file, '00 10 void A.third()\n1000 40 void A.first2()\n');
    expect(map.refresh()).toBe(true);
    expect(map.size).toBe(4);
    expect(map.lookup(0x3005n)?.name).toBe('A.third()');
    expect(map.lookup(0x1010n)?.name).toBe('A.first2()');
    expect(map.lookup(0x1050n)?.name).toBe('A.first()');
    // Newer code that starts before stale entries and covers them wins over the nearer start.
    appendFileSync(file, '0f00 180 void A.big()\n');
    expect(map.refresh()).toBe(true);
    expect(map.lookup(0x1010n)?.name).toBe('A.big()');
    expect(map.lookup(0x1090n)?.name).toBe('A.first()');
    // However many stale entries lie between the newer entry's start and the address.
    const stale = Array.from({ length: 100 }, (_, i) => `${(0x9000 + i * 0x10).toString(16)} 10 void X.stale${i}()\n`).join('');
    appendFileSync(file, `${stale}8f00 1000 void A.huge()\n`);
    expect(map.refresh()).toBe(true);
    expect(map.lookup(0x9635n)?.name).toBe('A.huge()');
    expect(map.lookup(0x9ef0n)?.name).toBe('A.huge()');

    // The resolver reads on a miss, then waits before reading again.
    let clock = 0;
    const resolver = createPerfMapResolver({ procRoot: root, minRefreshMs: 1000, now: () => clock });
    expect(resolver.resolve(4242, 0x3005n)?.name).toBe('A.third()');
    appendFileSync(file, '6000 10 void A.fourth()\n');
    clock = 500;
    expect(resolver.resolve(4242, 0x6001n)).toBeUndefined();
    clock = 1500;
    expect(resolver.resolve(4242, 0x6001n)?.name).toBe('A.fourth()');
    expect(resolver.resolve(999_999_999, 0x6001n)).toBeUndefined();

    // jcmd Compiler.perfmap rewrites the whole file.
    writeFileSync(file, '5000 10 void B.only()\n');
    expect(map.refresh()).toBe(true);
    expect(map.size).toBe(1);
    expect(map.lookup(0x1000n)).toBeUndefined();
    expect(map.lookup(0x5001n)?.name).toBe('B.only()');
  });
});

describe('perf map names', () => {
  it('cleans V8, HotSpot and CPython names', () => {
    expect(classifyPerfMapName('JS:*hotFunction /srv/app.js:5:21')).toEqual({
      name: 'hotFunction', rawName: 'JS:*hotFunction /srv/app.js:5:21', kind: 'v8js', fileName: '/srv/app.js', line: 5,
    });
    expect(classifyPerfMapName('LazyCompile:~get total file:///srv/cart.mjs:12:3')).toMatchObject({
      name: 'get total', kind: 'v8js', fileName: '/srv/cart.mjs', line: 12,
    });
    expect(classifyPerfMapName('JS:~ node:internal/main/run_main_module:1:1')).toMatchObject({
      name: '(anonymous)', fileName: 'node:internal/main/run_main_module', line: 1,
    });
    expect(classifyPerfMapName('Builtin:ArrayPrototypePush')).toMatchObject({ name: 'Builtin:ArrayPrototypePush', kind: 'v8js' });
    expect(classifyPerfMapName('int Hot.hot(int)')).toMatchObject({ name: 'Hot.hot(int)', kind: 'jvm' });
    expect(classifyPerfMapName('Interpreter')).toMatchObject({ name: 'Interpreter', kind: 'jvm' });
    expect(classifyPerfMapName('py::hot_loop:/srv/app.py')).toMatchObject({ name: 'hot_loop', kind: 'cpython', fileName: '/srv/app.py' });
  });

  it('parses both hex styles and skips malformed lines', () => {
    const text = [
      '0x00007fb10cec79a0 0x0000000000000238 int Hot.hot(int)',
      '7f78cc006040 298 JS:*hotFunction /tmp/hot.js:1:21',
      'garbage',
      '7f78cc0060 zz bad size',
      '',
    ].join('\n');
    expect(parsePerfMap(text).map((e) => [e.start, e.size, e.name, e.kind])).toEqual([
      [0x7fb10cec79a0n, 0x238n, 'Hot.hot(int)', 'jvm'],
      [0x7f78cc006040n, 0x298n, 'hotFunction', 'v8js'],
    ]);
  });
});
