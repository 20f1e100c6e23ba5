import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startCxxfiltProcess } from '../../src/symbolize/cxxfilt-process.js';
import { createDemangler, MAX_CXXFILT_REPLACEMENTS } from '../../src/symbolize/demangle.js';

const dir = mkdtempSync(join(tmpdir(), 'cxxfilt-process-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Pids of the live `comm` processes (c++filt by default) whose parent is `parent`. */
function cxxfiltChildren(parent = process.pid, comm = 'c++filt'): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'latin1');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      // a zombie has exited: only the parent's wait is missing
      const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
      if (name === comm && ppid === parent && state !== 'Z') out.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

async function until(cond: () => boolean, ms = 3000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 20))) if (cond()) return true;
  return cond();
}

/** `n` distinct valid mangled names and what c++filt makes of them: shop::itemN(). */
function shopItems(n: number): { mangled: string[]; shown: string[] } {
  const mangled: string[] = [];
  const shown: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = `item${i}${'x'.repeat(40)}`;
    mangled.push(`_ZN4shop${id.length}${id}Ev`);
    shown.push(`shop::${id}()`);
  }
  return { mangled, shown };
}

describe('a c++filt kept running', () => {
  it('answers every batch from one process, larger than a pipe holds too', async () => {
    expect(cxxfiltChildren()).toEqual([]);
    const d = createDemangler();
    expect(d.demangle(['_ZN4shop5orderEv', 'main'])).toEqual(['shop::order()', 'main']);
    const first = cxxfiltChildren();
    expect(first).toHaveLength(1);
    // 5,000 names of ~60 bytes: 300 KB in, more out, through 64 KiB pipes
    const { mangled, shown } = shopItems(5000);
    expect(d.demangle(mangled)).toEqual(shown);
    // the same c++filt answered: no new process per batch
    expect(cxxfiltChildren()).toEqual(first);
    // and it agrees with a c++filt run over the same names
    const once = execFileSync('c++filt', { input: mangled.slice(0, 50).join('\n') + '\n', encoding: 'utf8' }).trim().split('\n');
    expect(shown.slice(0, 50)).toEqual(once);
    d.close();
    expect(await until(() => cxxfiltChildren().length === 0)).toBe(true);
  });

  it('reports a c++filt that died, keeps that batch mangled and starts another, a few times', async () => {
    const errors: Error[] = [];
    const d = createDemangler({ onError: (e) => errors.push(e) });
    expect(d.demangle(['_ZN4shop5orderEv'])).toEqual(['shop::order()']);
    const killed = new Set<number>();
    for (let round = 1; round <= MAX_CXXFILT_REPLACEMENTS + 1; round++) {
      // one live c++filt besides those killed (a killed one may linger a moment)
      const live = cxxfiltChildren().filter((p) => !killed.has(p));
      expect(live).toHaveLength(1);
      process.kill(live[0]!, 'SIGKILL');
      killed.add(live[0]!);
      const name = `_ZN4shop${6 + String(round).length}basket${round}Ev`;
      expect(d.demangle([name, 'main'])).toEqual([name, 'main']);
      const last = round > MAX_CXXFILT_REPLACEMENTS;
      expect(errors.at(-1)?.message).toBe(`demangling names: c++filt exited; ${last ? 'names stay mangled from now on' : 'a new c++filt is tried at the next batch'}`);
      // the batch that failed stays as it was: a name that killed c++filt is not sent again
      expect(d.demangle([name])).toEqual([name]);
      if (last) break;
      // a new name goes to a new c++filt
      expect(d.demangle([`_ZN4shop${4 + String(round).length}cart${round}Ev`])).toEqual([`shop::cart${round}()`]);
    }
    expect(errors).toHaveLength(MAX_CXXFILT_REPLACEMENTS + 1);
    // given up: no new c++filt, names as the symbol tables give them
    expect(d.demangle(['_ZN4shop4cartEv'])).toEqual(['_ZN4shop4cartEv']);
    expect(await until(() => cxxfiltChildren().length === 0)).toBe(true);
    d.close();
  });

  it('gives up on a c++filt that reads nothing, whatever the batch, and ends it', async () => {
    const silent = join(dir, 'silent-cxxfilt');
    writeFileSync(silent, '#!/bin/sh\nexec sleep 60\n');
    chmodSync(silent, 0o755);
    const p = startCxxfiltProcess(silent, 300);
    expect(cxxfiltChildren(process.pid, 'sleep')).toHaveLength(1);
    // 300 KB: more than the pipe holds, so the writing must not wait for room either
    const { mangled } = shopItems(5000);
    const started = Date.now();
    expect(() => p.demangleLines(mangled)).toThrow(/silent-cxxfilt did not answer within 300 ms/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(() => p.demangleLines(['_ZN4shop5orderEv'])).toThrow(/was ended/);
    expect(await until(() => cxxfiltChildren(process.pid, 'sleep').length === 0)).toBe(true);
  });

  it('runs one c++filt per batch where it cannot keep one (no temp directory)', async () => {
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = join(dir, 'missing');
    try {
      const d = createDemangler();
      expect(d.demangle(['_ZN4shop5orderEv'])).toEqual(['shop::order()']);
      expect(cxxfiltChildren()).toEqual([]);
      d.close();
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
    expect(existsSync(join(dir, 'missing'))).toBe(false);
  });

  it('ends when the process that started it is killed', async () => {
    const script = join(dir, 'holder.mjs');
    // the build's module: a plain node runs it (npm test builds first)
    const module = new URL('../../dist/src/symbolize/cxxfilt-process.js', import.meta.url).pathname;
    writeFileSync(script, [
      `const { startCxxfiltProcess } = await import(${JSON.stringify(module)});`,
      `const p = startCxxfiltProcess('c++filt', 5000);`,
      `console.log(p.demangleLines(['_ZN4shop5orderEv'])[0]);`,
      'setInterval(() => {}, 1000);',
    ].join('\n'));
    const holder = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      let out = '';
      holder.stdout.on('data', (b: Buffer) => { out += b.toString(); });
      expect(await until(() => out.includes('shop::order()'), 10_000)).toBe(true);
      const [pid] = cxxfiltChildren(holder.pid);
      expect(pid).toBeDefined();
      holder.kill('SIGKILL');
      // its stdin had no other writer: EOF, and it exits (reaped by init)
      expect(await until(() => !existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, 'latin1').includes(') Z '))).toBe(true);
    } finally {
      holder.kill('SIGKILL');
    }
  });
});
