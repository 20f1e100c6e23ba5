/**
 * bin/meshprof.js runs the bundle in dist/bundle (scripts/bundle.mjs). Its
 * code finds the addon, the BPF objects, package.json and its worker scripts
 * from paths relative to the bundle's own files, so a bundle that builds can
 * still be broken at run time: these run it as users do. `record --all` on a
 * spinner without frame pointers needs all three worker threads (exec
 * watcher, unwind tables, symbol tables; the table cache starts empty) to
 * name main → hot_a → spin; a
 * module resolution hook proves nothing came from dist/src. Needs root (CI
 * runs as root); never skipped.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleModules, loadedModules } from '../helpers/bundle-modules.js';
import { compileFixture, OMIT_FRAME_POINTER } from '../helpers/compile-fixture.js';
import { pprofFileStacks } from '../helpers/pprof-stacks.js';
import { repoRoot } from '../helpers/repo-root.js';
import { startAgent } from '../helpers/start-agent.js';
import { cliPath } from '../helpers/start-cli.js';
import { writeResolveLogHooks } from '../helpers/resolve-log.js';

const bundleDir = join(repoRoot, 'dist', 'bundle');
const WORKERS = ['exec-watcher-worker.js', 'symbol-table-worker.js', 'table-builder-worker.js'];


/** Samples of `pid` whose stack (leaf first) contains `chain`, over all of them. */
function chainShare(stacks: Record<string, number>, chain: string): { hit: number; total: number } {
  let hit = 0;
  let total = 0;
  for (const [key, n] of Object.entries(stacks)) {
    if (!key.startsWith('samples/count|')) continue;
    total += n;
    if (key.includes(chain)) hit += n;
  }
  return { hit, total };
}

describe('the bundled CLI (dist/bundle, real BPF, as root)', () => {
  let dir: string;
  let busy: string;
  let spinner: ChildProcess;

  beforeAll(() => {
    expect(process.getuid?.(), 'meshprof record needs root').toBe(0);
    dir = mkdtempSync(join(tmpdir(), 'meshprof-bundle-'));
    writeResolveLogHooks(dir);
    // No frame pointers: main is reached only through the .eh_frame tables the unwind worker builds.
    busy = compileFixture('busy.c', { name: 'busy-omit-fp', flags: [...OMIT_FRAME_POINTER] });
    spinner = spawn(busy, ['600'], { stdio: 'ignore' });
  });
  afterAll(() => {
    spinner?.kill();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('is built: the CLI and three self-contained worker scripts, side by side', () => {
    expect(existsSync(join(bundleDir, 'meshprof.js')), 'dist/bundle is missing: scripts/setup.sh --build-only makes it').toBe(true);
    const held = bundleModules();
    expect(held['dist/bundle/meshprof.js']).toContain('dist/src/cli/main.js');
    for (const w of WORKERS) {
      const text = readFileSync(join(bundleDir, w), 'utf8');
      // One file each: a worker loads nothing of ours but itself.
      expect(text, w).not.toMatch(/(?:from|import\()\s*["']\.\.?\//);
      expect((held[`dist/bundle/${w}`] ?? []).length, w).toBeGreaterThan(3);
    }
    // The lazily imported exporters stay out of the CLI's first load: their own chunk, not meshprof.js.
    expect(held['dist/bundle/meshprof.js']).not.toContain('dist/src/export/exporter-sinks.js');
    expect(Object.entries(held).some(([out, mods]) => out !== 'dist/bundle/meshprof.js' && mods.includes('dist/src/export/exporter-sinks.js'))).toBe(true);
  });

  it('records --all: the spinner named down to main, every module of ours from the bundle', async () => {
    const out = join(dir, 'all.pb.gz');
    const log = join(dir, 'resolved.log');
    writeFileSync(log, '');
    const child = spawn('node', ['--import', join(dir, 'register.mjs'), cliPath, 'record', '--all', '-d', '5s', '-o', out], {
      stdio: ['ignore', 'ignore', 'pipe'],
      // An empty table cache: a cached table is read in the main thread, and would start no worker.
      env: { ...process.env, MESHPROF_TEST_RESOLVED_LOG: log, MESHPROF_CACHE_DIR: mkdtempSync(join(dir, 'cache-')) },
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, stderr).toBe(0);
    expect(stderr).toContain('wrote ');

    const resolved = readFileSync(log, 'utf8').split('\n').filter((l) => l !== '');
    const ours = resolved.filter((u) => u.startsWith(`file://${repoRoot}/`) && !u.includes('/node_modules/'));
    // The hook saw the CLI load: an absent dist/src is a real absence.
    expect(ours.some((u) => u.endsWith('/dist/bundle/meshprof.js')), resolved.join('\n')).toBe(true);
    expect(ours.filter((u) => u.includes('/dist/src/'))).toEqual([]);
    // The worker threads started from the bundle's own scripts (the hooks see their entry files).
    for (const w of WORKERS) expect(ours, w).toContain(`file://${bundleDir}/${w}`);
    expect(loadedModules(resolved).has('dist/src/cli/record-command.js')).toBe(true);

    const { hit, total } = chainShare(pprofFileStacks(out, spinner.pid!).stacks, 'spin;hot_');
    const toMain = chainShare(pprofFileStacks(out, spinner.pid!).stacks, ';main');
    console.log(`bundled record: spinner samples ${total}, in spin under hot_a/hot_b ${hit}, reaching main ${toMain.hit}`);
    // 5 s at 99 Hz of a process that spins all the time: ~500 samples on a quiet host, nearly
    // all in spin; a host loaded 10 deep on 2 CPUs left it 57 in 3 s.
    expect(total).toBeGreaterThan(20);
    expect(hit / total).toBeGreaterThan(0.9);
    expect(toMain.hit / total).toBeGreaterThan(0.9);
  }, 120_000);

  it('fails, naming the file, when the bundle lacks a worker script, rather than running another copy', async () => {
    // A copy of the package whose bundle lacks the unwind table worker; build/ and node_modules are the real ones.
    const pkg = join(dir, 'pkg');
    mkdirSync(join(pkg, 'bin'), { recursive: true });
    cpSync(join(repoRoot, 'package.json'), join(pkg, 'package.json'));
    cpSync(cliPath, join(pkg, 'bin', 'meshprof.js'));
    cpSync(bundleDir, join(pkg, 'dist', 'bundle'), { recursive: true });
    rmSync(join(pkg, 'dist', 'bundle', 'table-builder-worker.js'));
    symlinkSync(join(repoRoot, 'build'), join(pkg, 'build'));
    symlinkSync(join(repoRoot, 'node_modules'), join(pkg, 'node_modules'));
    const child = spawn('node', [join(pkg, 'bin', 'meshprof.js'), 'record', '--pid', String(spinner.pid), '-d', '2s', '-o', join(dir, 'broken.folded')], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, MESHPROF_CACHE_DIR: mkdtempSync(join(dir, 'cache-')) },
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, stderr).not.toBe(0);
    expect(stderr).toContain(`${join(pkg, 'dist', 'bundle', 'table-builder-worker.js')} is missing from the bundle`);
  }, 60_000);

  it('runs dist/src, saying why, when tsc wrote it after the bundle was made', () => {
    const pkg = join(dir, 'stale');
    mkdirSync(join(pkg, 'bin'), { recursive: true });
    cpSync(join(repoRoot, 'package.json'), join(pkg, 'package.json'));
    cpSync(cliPath, join(pkg, 'bin', 'meshprof.js'));
    cpSync(join(repoRoot, 'dist', 'bundle'), join(pkg, 'dist', 'bundle'), { recursive: true });
    cpSync(join(repoRoot, 'dist', 'src'), join(pkg, 'dist', 'src'), { recursive: true });
    symlinkSync(join(repoRoot, 'node_modules'), join(pkg, 'node_modules'));
    const run = (): { stdout: string; stderr: string } => {
      const r = spawnSync('node', [join(pkg, 'bin', 'meshprof.js'), '--version'], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      return { stdout: r.stdout, stderr: r.stderr };
    };
    const now = Date.now() / 1000;
    writeFileSync(join(pkg, 'dist', '.tsbuildinfo'), '{}');
    utimesSync(join(pkg, 'dist', '.tsbuildinfo'), now - 60, now - 60);
    const fresh = run();
    expect(fresh.stderr).toBe('');
    utimesSync(join(pkg, 'dist', '.tsbuildinfo'), now + 60, now + 60);
    const stale = run();
    expect(stale.stdout).toBe(fresh.stdout);
    expect(stale.stderr).toContain('dist/bundle is older than dist/src');
  });

  it('runs the agent: it starts and writes the spinner\'s profile', async () => {
    const outDir = join(dir, 'agent');
    const agent = startAgent({
      MESHPROF_INTERVAL: '2s', MESHPROF_OUTPUT_DIR: outDir, MESHPROF_LOCAL_FORMATS: 'pprof',
      MESHPROF_TARGET_PIDS: String(spinner.pid), MESHPROF_CACHE_DIR: mkdtempSync(join(dir, 'cache-')),
    });
    try {
      await agent.waitFor('agent started', 60_000);
      await agent.waitFor('wrote profile files', 60_000, 2);
    } finally {
      expect(await agent.stop(), agent.output().slice(-3000)).toBe(0);
    }
    const pprofs = readdirSync(outDir).filter((f) => f.endsWith('.pb.gz'));
    let hit = 0;
    for (const f of pprofs) hit += chainShare(pprofFileStacks(join(outDir, f), spinner.pid!).stacks, 'spin;hot_a;main').hit;
    expect(hit, agent.output().slice(-3000)).toBeGreaterThan(0);
  }, 120_000);
});
