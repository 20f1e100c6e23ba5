// The difference of two profiles: stacks matched by process and function
// names, never addresses; NEW − BASE values a pprof reader decodes, the
// two-column folded form and the differential flame graph's data.
import { gunzipSync } from 'node:zlib';
import { Profile as PprofProfile } from 'pprof-format';
import { describe, expect, it } from 'vitest';
import { encodeDiffFolded } from '../../src/encode/diff-folded.js';
import { encodeDiffHtml } from '../../src/encode/diff-html.js';
import type { FlameData } from '../../src/encode/flame-data.js';
import { encodeFolded } from '../../src/encode/folded.js';
import { encodePprof } from '../../src/encode/pprof.js';
import type { Frame, Profile } from '../../src/profile/model.js';
import { diffProfiles, ProfileDiffError } from '../../src/profile/profile-diff.js';
import { parseProfileFile } from '../../src/receive/profile-file-input.js';
import { APP_MAPPING, buildTestProfile, F } from '../helpers/build-test-profile.js';

/** The test profile as another build would give it: every address moved, other pids. */
function rebuilt(profile: Profile, scale: (fn: string) => number): Profile {
  const moved = new Map<Frame, Frame>();
  const move = (f: Frame): Frame => {
    let m = moved.get(f);
    if (m === undefined) {
      m = { ...f, address: f.address + 0x777n, mapping: f.mapping === APP_MAPPING ? { ...APP_MAPPING, start: 0x800000n, limit: 0x900000n } : f.mapping };
      moved.set(f, m);
    }
    return m;
  };
  return {
    ...profile,
    samples: profile.samples.map((s) => ({
      ...s, pid: s.pid + 1000, frames: s.frames.map(move), values: s.values.map((v) => v * scale(s.frames[0]?.functionName ?? '')),
    })),
    processes: new Map([...profile.processes].map(([pid, p]) => [pid + 1000, { ...p, pid: pid + 1000 }])),
  };
}

const byLeaf = (diff: { samples: readonly { frames: readonly Frame[]; values: readonly number[] }[] }): Map<string, number> => {
  const m = new Map<string, number>();
  for (const s of diff.samples) m.set(s.frames[0]?.functionName ?? '', (m.get(s.frames[0]?.functionName ?? '') ?? 0) + (s.values[0] ?? 0));
  return m;
};

describe('diffProfiles', () => {
  const base = buildTestProfile();
  // hot_a doubled in the new build; the rest unchanged.
  const next = rebuilt(base, (leaf) => (leaf === 'hot_a' ? 2 : 1));

  it('matches stacks by names across builds: only the changed function differs', () => {
    const diff = diffProfiles(base, next);
    const leaves = byLeaf(diff);
    // api-server's hot_a 5+1, batch-job's hot_a under worker+0x1234 (an unsymbolized leaf) is unchanged.
    expect(leaves.get('hot_a')).toBe(6);
    expect(leaves.get('hot_b')).toBe(0);
    expect(leaves.get('ksys_write')).toBe(0);
    expect(diff.samples.length).toBe(5);
    expect(diff.baseTotals).toEqual([16, 150_000_000]);
    expect(diff.newTotals).toEqual([22, 210_000_000]);
    // NEW's frames (its addresses) stand for a stack both sides have.
    const hotA = diff.samples.find((s) => s.frames[0]?.functionName === 'hot_a' && s.baseValues[0] === 6);
    expect(hotA?.frames[0]?.address).toBe(F.hotA.address + 0x777n);
    expect(hotA?.newValues).toEqual([12, 120_000_000]);
  });

  it('keeps stacks only one side has, with negative values for removed ones', () => {
    const gone = { ...next, samples: next.samples.filter((s) => s.frames[0]?.functionName !== 'hot_b') };
    const diff = diffProfiles(base, gone);
    expect(byLeaf(diff).get('hot_b')).toBe(-3);
    const pprof = PprofProfile.decode(gunzipSync(encodePprof(diff)));
    // int64 values: pprof-format decodes them unsigned.
    const values = pprof.sample.map((s) => Number(BigInt.asIntN(64, BigInt(s.value[0] ?? 0))));
    expect(values).toContain(-3);
    expect(values).toContain(6);
  });

  it('diffs memory profiles type by type, in-use bytes the pprof default', () => {
    const types = ['alloc_objects', 'alloc_space', 'inuse_objects', 'inuse_space'].map((type) => ({ type, unit: type.endsWith('space') ? 'bytes' : 'count' }));
    const heap = (scale: number): Profile => ({
      ...base, sampleTypes: types,
      samples: base.samples.map((s) => ({ ...s, values: [1, 1024, 1, scale * 512] })),
    });
    const diff = diffProfiles(heap(1), rebuilt(heap(3), () => 1));
    expect(diff.newTotals[3]! - diff.baseTotals[3]!).toBe(6 * 2 * 512);
    const pprof = PprofProfile.decode(gunzipSync(encodePprof(diff)));
    expect(pprof.stringTable.strings[Number(pprof.defaultSampleType)]).toBe('inuse_space');
    // In-use grew by 1,024 bytes per sample merged into a stack; allocations did not change.
    expect(pprof.sample.map((s) => Number(s.value[3]) % 1024)).toEqual(pprof.sample.map(() => 0));
    expect(pprof.sample.every((s) => Number(s.value[3]) > 0 && Number(s.value[1]) === 0)).toBe(true);
  });

  it('refuses profiles of different kinds with both sides named', () => {
    const offcpu = { ...base, sampleTypes: [{ type: 'switches', unit: 'count' }, { type: 'duration', unit: 'nanoseconds' }] };
    expect(() => diffProfiles(base, offcpu)).toThrow(ProfileDiffError);
    expect(() => diffProfiles(base, offcpu)).toThrow(/BASE has sample types samples\/count, cpu\/nanoseconds, NEW has switches\/count, duration\/nanoseconds/);
  });

  it('writes BASE and NEW columns in folded form', () => {
    const text = encodeDiffFolded(diffProfiles(base, next), 0);
    // hot_a of two threads of api-server: one stack, 5 + 1.
    expect(text).toContain('api-server;main;handle_request;hot_a 6 12\n');
    expect(text).toContain('api-server;main;handle_request;hot_b 3 3\n');
  });

  it('gives the flame graph NEW then BASE values per node and both totals', () => {
    const html = encodeDiffHtml(diffProfiles(base, next));
    const data = JSON.parse(/id="flame-data">(.*?)<\/script>/s.exec(html)![1]!) as FlameData;
    expect(data.diff).toEqual({ baseTotals: [16, 150_000_000], newTotals: [22, 210_000_000] });
    expect(data.types.length).toBe(2);
    // root: NEW samples, NEW cpu, BASE samples, BASE cpu
    expect(data.root[2]).toEqual([22, 210_000_000, 16, 150_000_000]);
  });
});

describe('parseProfileFile', () => {
  it('reads folded stacks, kernel frames by their suffix, one process per first element', () => {
    const p = parseProfileFile(Buffer.from(encodeFolded(buildTestProfile())), 'test.folded');
    expect(p.sampleTypes).toEqual([{ type: 'samples', unit: 'count' }]);
    const write = p.samples.find((s) => s.frames[0]?.functionName === 'ksys_write');
    expect(write?.frames.map((f) => f.kind)).toEqual(['kernel', 'kernel', 'kernel', 'native', 'native', 'native']);
    expect(p.processes.get(write!.pid)?.name).toBe('api-server');
    expect(p.samples.reduce((n, s) => n + (s.values[0] ?? 0), 0)).toBe(16);
  });

  it('reads meshprof pprof with process names from labels and kernel frames from the kernel mapping', () => {
    const p = parseProfileFile(encodePprof(buildTestProfile()), 'test.pb.gz');
    expect(p.sampleTypes.map((t) => t.type)).toEqual(['samples', 'cpu']);
    const names = new Set(p.samples.map((s) => p.processes.get(s.pid)?.name));
    expect(names).toEqual(new Set(['api-server', 'batch-job']));
    const write = p.samples.find((s) => s.frames[0]?.functionName === 'ksys_write');
    expect(write?.frames[0]?.kind).toBe('kernel');
    expect(write?.frames[3]?.kind).toBe('native');
    // A round trip through pprof diffs to zero against the original.
    const diff = diffProfiles(buildTestProfile(), p);
    expect(diff.samples.every((s) => s.values.every((v) => v === 0))).toBe(true);
  });

  it('names the file and the problem on bad input', () => {
    expect(() => parseProfileFile(Buffer.from('main;work 12\nnot a line\n'), 'x.folded')).toThrow(/reading x\.folded: line 2 is not/);
    expect(() => parseProfileFile(Buffer.from([0x1f, 0x8b, 1, 2, 3]), 'x.pb.gz')).toThrow(/reading x\.pb\.gz: gzip/);
    expect(() => parseProfileFile(Buffer.from([0xff, 0xff, 0xff, 0x00, 0x01]), 'x.pb')).toThrow(/reading x\.pb: not a pprof or folded profile/);
  });
});
