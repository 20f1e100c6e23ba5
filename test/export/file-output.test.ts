import { mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeProfileFile } from '../../src/export/write-profile-file.js';
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
});
