// The differential flame graph drawn by headless Chromium: widths from NEW,
// red for frames whose share grew, blue for those that shrank.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeDiffHtml } from '../../src/encode/diff-html.js';
import type { Profile } from '../../src/profile/model.js';
import { diffProfiles } from '../../src/profile/profile-diff.js';
import { buildTestProfile } from '../helpers/build-test-profile.js';

const run = promisify(execFile);

describe('encodeDiffHtml in headless Chromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshprof-diff-html-'));
  const file = join(dir, 'diff.html');
  const base = buildTestProfile();
  // hot_a's samples doubled; everything else the same, so hot_a's share grew and the others' shrank.
  const next: Profile = { ...base, samples: base.samples.map((s) => (s.frames[0]?.functionName === 'hot_a' ? { ...s, values: s.values.map((v) => 2 * v) } : s)) };
  writeFileSync(file, encodeDiffHtml(diffProfiles(base, next), { title: 'diff test' }));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('colours grown frames red and shrunk ones blue, sized by NEW', async () => {
    const { stdout: dom } = await run('/usr/bin/chromium', [
      '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', `--user-data-dir=${join(dir, 'chrome-profile')}`, '--dump-dom', pathToFileURL(file).href,
    ], { timeout: 60_000, maxBuffer: 64 << 20 });
    const frames = [...dom.matchAll(/<div class="frame [^"]*"[^>]* style="([^"]*)"[^>]*>([^<]*)<\/div>/g)].map((m) => ({ style: m[1]!, name: m[2]! }));
    const rgb = (name: string): number[] => {
      const f = frames.find((x) => x.name === name);
      expect(f, `${name} drawn`).toBeDefined();
      return (/background: rgb\((\d+), (\d+), (\d+)\)/.exec(f!.style) ?? []).slice(1).map(Number);
    };
    const [ar = 0, , ab = 0] = rgb('hot_a');
    const [br = 0, , bb = 0] = rgb('hot_b');
    expect(ar).toBeGreaterThan(ab);
    expect(bb).toBeGreaterThan(br);
    // NEW sizes the bars: api-server's hot_a is 12 of NEW's 22 samples.
    const width = /width: ([\d.]+)%/.exec(frames.find((x) => x.name === 'hot_a')!.style)?.[1];
    expect(Number(width)).toBeCloseTo((100 * 12) / 22, 1);
    expect(dom).toContain('share grew');
  });
});
