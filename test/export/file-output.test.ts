import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeOtlpBinary } from '../../src/encode/otlp.js';
import { createFileTransport, sequencedPath } from '../../src/export/file-transport.js';
import { isOtlpFilePath, writeOtlpFile } from '../../src/export/otlp-file.js';
import { offCpuProfile, onCpuProfile } from '../helpers/on-cpu-profile.js';
import { expectedRows, resolveRequest, sortRows } from '../helpers/resolve-request.js';

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshprof-export-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('OTLP files', () => {
  it('writes x.otlp.pb as a binary ExportProfilesServiceRequest', async () => {
    const path = join(dir, 'sub', 'x.otlp.pb');
    const profile = offCpuProfile();
    await writeOtlpFile(path, [profile], { hostName: 'h' });
    const got = resolveRequest(await readFile(path));
    expect(sortRows(got.samples)).toEqual(sortRows(expectedRows(profile)));
  });

  it('writes x.otlp.json as protobuf JSON', async () => {
    const path = join(dir, 'x.otlp.json');
    await writeOtlpFile(path, [onCpuProfile()], { hostName: 'h' });
    const json = JSON.parse(await readFile(path, 'utf8')) as { resourceProfiles: { resource: { attributes: { key: string; value: Record<string, string> }[] } }[] };
    expect(json.resourceProfiles).toHaveLength(2);
    expect(json.resourceProfiles[0]!.resource.attributes).toContainEqual({ key: 'process.pid', value: { intValue: '4242' } });
    expect(isOtlpFilePath(path)).toBe(true);
    expect(isOtlpFilePath(join(dir, 'x.pb.gz'))).toBe(false);
  });

  it('file transport never overwrites: later sends get numbered names', async () => {
    const transport = createFileTransport({ path: join(dir, 'out.otlp.json') });
    const profile = onCpuProfile();
    const bytes = encodeOtlpBinary([profile]);
    expect(await transport.send(bytes, 1000)).toEqual({ ok: true });
    expect(await transport.send(bytes, 1000)).toEqual({ ok: true });
    const second = JSON.parse(await readFile(join(dir, 'out.1.otlp.json'), 'utf8')) as { dictionary: { stringTable: string[] } };
    expect(second.dictionary.stringTable).toContain('ngx_process_events_and_timers');
    const raw = createFileTransport({ path: join(dir, 'raw.otlp.pb') });
    await raw.send(bytes, 1000);
    expect(sortRows(resolveRequest(await readFile(join(dir, 'raw.otlp.pb'))).samples)).toEqual(sortRows(expectedRows(profile)));
    expect(sequencedPath('/a/b.c/x.otlp.pb', 2)).toBe('/a/b.c/x.2.otlp.pb');
    expect(sequencedPath('/a/x', 1)).toBe('/a/x.1');
    // raw.otlp.pb is a file, so nothing can be created beneath it.
    const failing = createFileTransport({ path: join(dir, 'raw.otlp.pb', 'nested') });
    expect(await failing.send(bytes, 1000)).toMatchObject({ ok: false, retryable: false });
  });
});
