import { mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createExportMetrics } from '../../src/export/export-metrics.js';
import { createLocalFilesSink, LocalProfileFiles } from '../../src/export/local-profile-files.js';
import type { Profile } from '../../src/profile/model.js';
import { onCpuProfile } from '../helpers/on-cpu-profile.js';

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshprof-local-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The helper's profile, started `second` seconds into 2026, so each gets its own file name. */
function profileAt(second: number): Profile {
  return { ...onCpuProfile(), startTimeNs: BigInt(Date.UTC(2026, 0, 1, 0, 0, second)) * 1_000_000n };
}

describe('local profile files', () => {
  it('creates the directory 0700 and its files 0600', async () => {
    const out = join(dir, 'a', 'b');
    const files = new LocalProfileFiles(out, ['pprof']);
    files.prepare();
    expect((await stat(out)).mode & 0o777).toBe(0o700);
    const [path] = await files.write('oncpu', profileAt(1));
    expect(path).toBe(join(out, 'oncpu-20260101T000001Z.pb.gz'));
    expect((await stat(path!)).mode & 0o777).toBe(0o600);
  });

  it('keeps the total under the cap by deleting its own oldest files, never others', async () => {
    await writeFile(join(dir, 'notes.txt'), 'x'.repeat(10_000));
    // An older own file from a previous run counts, and goes first.
    await writeFile(join(dir, 'oncpu-20250101T000000Z.pb.gz'), 'y'.repeat(100));
    await utimes(join(dir, 'oncpu-20250101T000000Z.pb.gz'), new Date(2025, 0, 1), new Date(2025, 0, 1));
    const probe = new LocalProfileFiles(join(dir, 'probe'), ['pprof']);
    probe.prepare();
    const one = (await stat((await probe.write('oncpu', profileAt(0)))[0]!)).size;
    await rm(join(dir, 'probe'), { recursive: true });

    const files = new LocalProfileFiles(dir, ['pprof'], { maxBytes: 3 * one + Math.floor(one / 2) });
    files.prepare();
    for (let s = 1; s <= 6; s++) await files.write('oncpu', profileAt(s));
    const names = (await readdir(dir)).sort();
    expect(names).toEqual(['notes.txt', 'oncpu-20260101T000004Z.pb.gz', 'oncpu-20260101T000005Z.pb.gz', 'oncpu-20260101T000006Z.pb.gz']);
    expect(files.totalBytes()).toBeLessThanOrEqual(3 * one + Math.floor(one / 2));
  });

  it('fails at start for a file, a /proc path (at once, no spin) or a directory it cannot create', () => {
    const file = join(dir, 'f');
    return writeFile(file, '').then(() => {
      expect(() => new LocalProfileFiles(file, ['pprof']).prepare()).toThrow(`${file} is not a directory`);
      expect(() => new LocalProfileFiles('/proc/x', ['pprof']).prepare()).toThrow('it is in /proc, where files cannot be kept');
      expect(() => new LocalProfileFiles(join(file, 'sub'), ['pprof']).prepare()).toThrow(`a parent of ${join(file, 'sub')} is not a directory`);
    });
  });

  it('logs one error when writing starts failing and one line when it works again, counting what was lost', async () => {
    const lines: { level: string; msg: string }[] = [];
    const log = {
      debug: (a: object | string, b?: string) => lines.push({ level: 'debug', msg: typeof a === 'string' ? a : b ?? '' }),
      info: (a: object | string, b?: string) => lines.push({ level: 'info', msg: typeof a === 'string' ? a : b ?? '' }),
      warn: (a: object | string, b?: string) => lines.push({ level: 'warn', msg: typeof a === 'string' ? a : b ?? '' }),
      error: (a: object | string, b?: string) => lines.push({ level: 'error', msg: typeof a === 'string' ? a : b ?? '' }),
    };
    const metrics = createExportMetrics();
    const out = join(dir, 'out');
    const files = new LocalProfileFiles(out, ['pprof']);
    files.prepare();
    const sink = createLocalFilesSink(files, log, metrics);
    await rm(out, { recursive: true });
    await writeFile(out, '');
    for (let s = 1; s <= 3; s++) await sink.consume('oncpu', profileAt(s));
    await rm(out);
    files.prepare();
    await sink.consume('oncpu', profileAt(4));
    expect(lines.filter((l) => l.level === 'error')).toHaveLength(1);
    expect(lines.find((l) => l.level === 'error')?.msg).toMatch(/^local files: cannot write \(MESHPROF_OUTPUT_DIR\)/);
    expect(lines.filter((l) => l.msg === 'local files: writing works again')).toHaveLength(1);
    expect(metrics.drops()['local-files']?.permanent_error).toBe(3 * onCpuProfile().samples.length);
  });
});
