import { execFileSync } from 'node:child_process';
import { createReadStream, lstatSync, statSync } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { Profile as PprofProfile } from 'pprof-format';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkOutputPath, writeProfileFile } from '../../src/export/write-profile-file.js';
import { offCpuProfile, onCpuProfile } from '../helpers/on-cpu-profile.js';
import { expectedRows, resolveRequest, sortRows } from '../helpers/resolve-request.js';

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshprof-export-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('profile files', () => {
  it('writes x.otlp.pb as a binary ExportProfilesServiceRequest', async () => {
    const path = join(dir, 'x.otlp.pb');
    const profile = offCpuProfile();
    await writeProfileFile(path, 'otlp', profile);
    const got = resolveRequest(await readFile(path));
    expect(sortRows(got.samples)).toEqual(sortRows(expectedRows(profile)));
  });

  it('writes x.otlp.json as protobuf JSON', async () => {
    const path = join(dir, 'x.otlp.json');
    await writeProfileFile(path, 'otlp-json', onCpuProfile());
    const json = JSON.parse(await readFile(path, 'utf8')) as { resourceProfiles: { resource: { attributes: { key: string; value: Record<string, string> }[] } }[] };
    expect(json.resourceProfiles).toHaveLength(2);
    expect(json.resourceProfiles[0]!.resource.attributes).toContainEqual({ key: 'process.pid', value: { intValue: '4242' } });
  });

  it('never writes through a planted link, and leaves no temp file behind', async () => {
    const victim = join(dir, 'victim');
    await writeFile(victim, 'untouched');
    const path = join(dir, 'x.pb.gz');
    // the temp name an earlier version used
    await symlink(victim, `${path}.tmp-${process.pid}`);
    await writeProfileFile(path, 'pprof', onCpuProfile());
    await writeProfileFile(path, 'pprof', onCpuProfile());
    expect(await readFile(victim, 'utf8')).toBe('untouched');
    expect((await readdir(dir)).sort()).toEqual(['victim', 'x.pb.gz', `x.pb.gz.tmp-${process.pid}`]);
    await expect(writeProfileFile(join(dir, 'missing', 'y.pb.gz'), 'pprof', onCpuProfile())).rejects.toThrow(/^writing profile .*missing\/y\.pb\.gz: /);
  });

  it('replaces a link planted at the output path, never writing through it', async () => {
    const victim = join(dir, 'victim');
    await writeFile(victim, 'untouched');
    const path = join(dir, 'x.pb.gz');
    await symlink(victim, path);
    await writeProfileFile(path, 'pprof', onCpuProfile());
    expect(await readFile(victim, 'utf8')).toBe('untouched');
    expect((await lstat(path)).isFile()).toBe(true);
    expect(PprofProfile.decode(gunzipSync(await readFile(path))).sample.length).toBeGreaterThan(0);
  });

  it('writes 0600 by default and the configured mode exactly, whatever the umask', async () => {
    const path = join(dir, 'x.pb.gz');
    await writeProfileFile(path, 'pprof', onCpuProfile());
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    // 0666 survives only if the mode is set after open: any umask (022 here) would narrow it.
    await writeProfileFile(path, 'pprof', onCpuProfile(), { mode: 0o666 });
    expect((await stat(path)).mode & 0o777).toBe(0o666);
  });

  it('writes into a character device rather than replacing it, and reports ENOSPC from /dev/full', async () => {
    await expect(writeProfileFile('/dev/full', 'pprof', onCpuProfile())).rejects.toThrow(/^writing profile \/dev\/full: ENOSPC/);
    expect(lstatSync('/dev/full').isCharacterDevice()).toBe(true);
    expect((await readdir('/dev')).filter((n) => n.includes('.tmp'))).toEqual([]);
    await writeProfileFile('/dev/null', 'pprof', onCpuProfile());
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
  });

  it('writes into a named pipe, whose reader gets a whole pprof profile', async () => {
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const chunks: Buffer[] = [];
    const read = new Promise<void>((resolve, reject) => {
      createReadStream(fifo).on('data', (c) => chunks.push(c as Buffer)).on('end', resolve).on('error', reject);
    });
    await writeProfileFile(fifo, 'pprof', onCpuProfile());
    await read;
    expect((await lstat(fifo)).isFIFO()).toBe(true);
    expect(PprofProfile.decode(gunzipSync(Buffer.concat(chunks))).sample.length).toBeGreaterThan(0);
  });

  it('refuses a directory as output before writing, leaving nothing behind', async () => {
    const out = join(dir, 'out');
    await mkdir(out);
    expect(() => checkOutputPath(out)).toThrow(`${out} is a directory: name a file in it, e.g. profile.pb.gz`);
    await expect(writeProfileFile(out, 'pprof', onCpuProfile())).rejects.toThrow(/it is a directory/);
    expect(await readdir(dir)).toEqual(['out']);
    expect(await readdir(out)).toEqual([]);
  });

  it('checks the output path before recording: missing or non-directory parents are named', async () => {
    expect(() => checkOutputPath(join(dir, 'missing', 'y.pb.gz'))).toThrow(`directory ${join(dir, 'missing')} does not exist: create it or write elsewhere`);
    await writeFile(join(dir, 'file'), '');
    expect(() => checkOutputPath(join(dir, 'file', 'y.pb.gz'))).toThrow(`${join(dir, 'file')} is not a directory`);
    expect(() => checkOutputPath(join(dir, 'ok.pb.gz'))).not.toThrow();
    expect(() => checkOutputPath('-')).not.toThrow();
    expect(() => checkOutputPath('/dev/stdout')).not.toThrow();
    if (process.getuid?.() !== 0) {
      const ro = join(dir, 'ro');
      await mkdir(ro);
      await chmod(ro, 0o500);
      expect(() => checkOutputPath(join(ro, 'y.pb.gz'))).toThrow('is not writable: write elsewhere');
    }
  });
});
