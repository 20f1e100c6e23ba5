// Libraries loaded with dlopen() after `meshprof record --type memory` started:
// a plugin calling libc's malloc is named, an allocator of its own is probed.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bpfSkipReason, requirePrerequisites } from '../helpers/bpf-prerequisites.js';
import { compileFixture } from '../helpers/compile-fixture.js';
import { childOutput } from '../helpers/child-output.js';
import { startCli } from '../helpers/start-cli.js';
import { heapTotals } from './memory-profile.js';

const MiB = 1 << 20;

/** Waits (polling bpftool's list of perf-event attachments) until some uprobe is attached in `file`. */
async function uprobeAttached(file: string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (execFileSync('bpftool', ['perf', 'list'], { encoding: 'utf8' }).includes(file)) return;
    if (Date.now() > until) throw new Error(`no uprobe in ${file} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('record --type memory with libraries loaded by dlopen() (real BPF, as root)', { timeout: 180_000 }, () => {
  let dir = '';
  let main = '';
  let plugin = '';
  let allocator = '';
  beforeAll(() => {
    requirePrerequisites(bpfSkipReason());
    dir = mkdtempSync(join(tmpdir(), 'meshprof-dlopen-'));
    // frame pointers: the plugin allocates within a millisecond of its dlopen, before its tables exist
    const flags = ['-O2', '-fno-omit-frame-pointer', '-g'];
    plugin = compileFixture('dlopen-alloc-plugin.c', { name: 'libdlopen-alloc-plugin.so', flags: [...flags, '-shared', '-fPIC'] });
    allocator = compileFixture('dlopen-alloc-allocator.c', { name: 'libdlopen-alloc-allocator.so', flags: [...flags, '-shared', '-fPIC'] });
    main = compileFixture('dlopen-alloc-main.c', { flags, libs: ['-ldl'] });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names the plugin\'s allocations and counts those of an allocator loaded after the start', async () => {
    const file = join(dir, 'dlopen.pb.gz');
    const child = spawn(main, [plugin, allocator], { stdio: ['pipe', 'pipe', 'inherit'] });
    const printed = childOutput(child, 'dlopen fixture');
    try {
      await printed('ready');
      const maps = readFileSync(`/proc/${child.pid}/maps`, 'utf8');
      // neither library is mapped when the recording starts
      expect(maps).not.toContain('libdlopen-alloc');
      const cli = startCli(['record', '--type', 'memory', '--pid', String(child.pid), '--duration', '10m', '-o', file, '--memory-rate', '1']);
      await cli.started;
      child.stdin!.write('g');
      await printed('loaded');
      // the recorder reads the target's maps each drain and probes the allocator it finds there
      await uprobeAttached(allocator);
      child.stdin!.write('g');
      await printed('done');
      // past a drain or two, so the allocator's probes had their chance to be attached in time
      await new Promise((r) => setTimeout(r, 2500));
      cli.child.kill('SIGINT');
      const result = await cli.done;
      expect(result.code, result.stderr).toBe(0);
      const t = heapTotals(readFileSync(file));
      const keep = t.of('plugin_fill');
      const carved = t.of('use_allocator');
      console.log(`dlopen: plugin_fill ${JSON.stringify(keep)}, use_allocator ${JSON.stringify(carved)}; ${result.stderr.trim().split('\n').pop()}`);
      // the plugin's frames are named from a mapping that appeared after the start
      expect(keep).toEqual({ allocObjects: 16, allocBytes: 16 * MiB, inuseObjects: 16, inuseBytes: 16 * MiB });
      expect(t.stacks.some((s) => s.join(';').startsWith('plugin_fill;plugin_keep;use_plugin;main'))).toBe(true);
      expect(t.stacks.flat().some((f) => f.startsWith('[unknown]') || f.includes('libdlopen-alloc-plugin.so+0x'))).toBe(false);
      // tc_malloc of the allocator loaded later
      expect(carved.allocObjects).toBe(32);
      expect(carved.allocBytes).toBe(32 * 64 * 1024);
      expect(carved.inuseBytes).toBe(32 * 64 * 1024);
      expect(t.stacks.some((s) => s.join(';').startsWith('use_allocator;main'))).toBe(true);
    } finally {
      child.kill();
    }
  });
});
