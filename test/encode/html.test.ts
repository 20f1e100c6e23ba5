import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { CompactNode, FlameData } from '../../src/encode/flame-data.js';
import { buildFlameTree, type FlameNode } from '../../src/encode/flame-tree.js';
import { encodeHtml, FLAME_DATA_ELEMENT_ID } from '../../src/encode/html.js';
import { decodePng } from './png-pixels.js';
import { buildTestProfile, F } from '../helpers/build-test-profile.js';

const run = promisify(execFile);
const CHROMIUM = '/usr/bin/chromium';

function embeddedData(html: string): FlameData {
  const m = new RegExp(`<script type="application/json" id="${FLAME_DATA_ELEMENT_ID}">(.*?)</script>`, 's').exec(html);
  if (m === null) throw new Error('no embedded flame data');
  return JSON.parse(m[1]!) as FlameData;
}

/** Expands the compact form into {name: [kind, values, children]} for easy comparison. */
interface Expanded {
  readonly kind: string;
  readonly values: number[];
  readonly children: Record<string, Expanded>;
}
function expand(data: FlameData, node: CompactNode): [string, Expanded] {
  const children = Object.fromEntries((node[3] ?? []).map((c) => expand(data, c)));
  return [data.names[node[0]]!, { kind: data.kinds[node[1]]!, values: node[2], children }];
}

describe('buildFlameTree', () => {
  it('merges stacks by name under a node per process, with inclusive values per type', () => {
    const root = buildFlameTree(buildTestProfile());
    const shape = (n: FlameNode): unknown => [n.name, n.kind, n.values, n.children.map(shape)];
    expect(shape(root)).toEqual([
      'all', 'root', [16, 150_000_000], [
        ['api-server', 'process', [11, 110_000_000], [
          ['main', 'native', [11, 110_000_000], [
            ['handle_request', 'native', [11, 110_000_000], [
              ['__write', 'native', [2, 20_000_000], [
                ['entry_SYSCALL_64', 'kernel', [2, 20_000_000], [
                  ['do_syscall_64', 'kernel', [2, 20_000_000], [
                    ['ksys_write', 'kernel', [2, 20_000_000], []]]]]]]],
              ['hot_a', 'native', [6, 60_000_000], []],
              ['hot_b', 'native', [3, 30_000_000], []]]]]]]],
        ['batch-job', 'process', [5, 40_000_000], [
          ['worker_main', 'native', [5, 40_000_000], [
            ['hot_a', 'native', [4, 40_000_000], [['worker+0x1234', 'native', [4, 40_000_000], []]]],
            ['idle_loop', 'native', [1, 0], []]]]]],
      ],
    ]);
  });

  it('leaves out samples whose values are all zero', () => {
    const p = buildTestProfile();
    const zero = { ...p.samples[0]!, pid: 300, threadName: 'idle', values: [0, 0] };
    const root = buildFlameTree({ ...p, samples: [...p.samples, zero] });
    expect(root.children.map((c) => c.name)).toEqual(['api-server', 'batch-job']);
  });
});

describe('encodeHtml', () => {
  const html = encodeHtml(buildTestProfile(), { title: 'checkout <on-CPU>' });

  it('embeds the merged tree with every sample type', () => {
    const data = embeddedData(html);
    expect(data.types).toEqual([
      { type: 'samples', unit: 'count' },
      { type: 'cpu', unit: 'nanoseconds' },
    ]);
    const [rootName, root] = expand(data, data.root);
    expect(rootName).toBe('all');
    expect(root.values).toEqual([16, 150_000_000]);
    expect(Object.keys(root.children)).toEqual(['api-server', 'batch-job']);
    const handle = root.children['api-server']!.children['main']!.children['handle_request']!;
    expect(handle.children['hot_a']!.values).toEqual([6, 60_000_000]);
    expect(handle.children['__write']!.children['entry_SYSCALL_64']!.kind).toBe('kernel');
    // Names are interned: hot_a appears once in the table though it is in two processes.
    expect(data.names.filter((n) => n === 'hot_a')).toHaveLength(1);
  });

  it('is self-contained: no external scripts, styles or fetches', () => {
    expect(html).not.toMatch(/\b(src|href)\s*=/i);
    expect(html).not.toMatch(/https?:/i);
    expect(html).not.toMatch(/\bfetch\(|XMLHttpRequest|import\(/);
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
  });

  it('escapes the title and names so they cannot break out of the document', () => {
    expect(html).toContain('<title>checkout &#60;on-CPU&#62;</title>');
    const evil = '</script><script>alert(1)</script><!-- \u2028 & "x"';
    const p = buildTestProfile();
    const sample = { ...p.samples[0]!, frames: [{ ...F.hotA, functionName: evil }, ...p.samples[0]!.frames.slice(1)] };
    const out = encodeHtml({ ...p, samples: [sample] });
    expect(out).not.toContain('alert(1)</script>');
    expect(out).not.toContain('<!-- ');
    expect(out).not.toContain('\u2028');
    expect(out.match(/<\/script>/g)).toHaveLength(2);
    expect(embeddedData(out).names).toContain(evil);
  });
});

describe('encodeHtml in headless Chromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshprof-html-'));
  const file = join(dir, 'flame.html');
  writeFileSync(file, encodeHtml(buildTestProfile(), { title: 'meshprof test' }));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function chromium(hash: string, ...extra: string[]): Promise<string> {
    const url = `${pathToFileURL(file).href}#${hash}`;
    const { stdout } = await run(
      CHROMIUM,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--user-data-dir=${join(dir, 'chrome-profile')}`,
        ...extra,
        url,
      ],
      { timeout: 60_000, maxBuffer: 64 << 20 },
    );
    return stdout;
  }

  /** Rendered frames as [name, classes]. */
  function frames(dom: string): [string, string][] {
    return [...dom.matchAll(/<div class="frame ([^"]*)"[^>]*>([^<]*)<\/div>/g)].map((m) => [m[2]!, m[1]!]);
  }
  const matchedText = (dom: string): string | undefined => /<span id="matched"[^>]*>([^<]*)<\/span>/.exec(dom)?.[1];

  it('renders every frame as text and marks the search matches from #search=', async () => {
    const dom = await chromium('search=hot_a', '--dump-dom');
    const rendered = frames(dom);
    expect(rendered.map(([name]) => name).sort()).toEqual(
      [
        'all', 'api-server', 'batch-job', 'main', 'handle_request', '__write', 'entry_SYSCALL_64',
        'do_syscall_64', 'ksys_write', 'hot_a', 'hot_a', 'hot_b', 'worker_main', 'worker+0x1234', 'idle_loop',
      ].sort(),
    );
    const matched = rendered.filter(([, cls]) => cls.split(' ').includes('match')).map(([name]) => name);
    expect(matched).toEqual(['hot_a', 'hot_a']);
    expect(rendered.find(([name]) => name === 'ksys_write')![1]).toBe('k-kernel');
    expect(rendered.find(([name]) => name === 'api-server')![1]).toBe('k-process');
    expect(matchedText(dom)).toBe('Matched: 62.50% (10 samples)');
    expect(dom).toContain('Total: 16 samples');
  });

  it('switches sample type and applies a regex search from the hash', async () => {
    const dom = await chromium('type=cpu&regex=1&search=%5Ehot_%5Bab%5D%24', '--dump-dom');
    expect(matchedText(dom)).toBe('Matched: 86.67% (130.00 ms)');
    const matched = frames(dom).filter(([, cls]) => cls.includes('match')).map(([name]) => name);
    expect(matched).toEqual(['hot_a', 'hot_b', 'hot_a']);
    // idle_loop has no cpu time, so it is not drawn for this type.
    expect(frames(dom).map(([name]) => name)).not.toContain('idle_loop');
    expect(dom).toContain('Total: 150.00 ms');
  });

  it('zooms into the frame named by #zoom=, keeping its ancestors dimmed', async () => {
    const dom = await chromium('zoom=api-server;main;handle_request', '--dump-dom');
    const styled = [...dom.matchAll(/<div class="frame ([^"]*)"[^>]*style="([^"]*)">([^<]*)<\/div>/g)].map(
      (m) => [m[3]!, m[1]!, /width: ([\d.]+)%/.exec(m[2]!)?.[1]] as const,
    );
    const pct = (part: number, whole: number): number => Math.round((10_000 * part) / whole) / 100;
    expect(styled.map(([name, cls, width]) => [name, cls, Math.round(Number(width) * 100) / 100])).toEqual([
      ['main', 'k-native dim', 100],
      ['api-server', 'k-process dim', 100],
      ['all', 'k-root dim', 100],
      ['handle_request', 'k-native', 100],
      ['__write', 'k-native', pct(2, 11)],
      ['entry_SYSCALL_64', 'k-kernel', pct(2, 11)],
      ['do_syscall_64', 'k-kernel', pct(2, 11)],
      ['ksys_write', 'k-kernel', pct(2, 11)],
      ['hot_a', 'k-native', pct(6, 11)],
      ['hot_b', 'k-native', pct(3, 11)],
    ]);
    expect(dom).toContain('zoomed into handle_request');
  });

  it('takes a 1200x800 screenshot that shows the flame graph', async () => {
    const png = join(dir, 'flame.png');
    await chromium('search=hot_a', `--screenshot=${png}`, '--window-size=1200,800');
    expect(existsSync(png)).toBe(true);
    const image = decodePng(readFileSync(png));
    expect([image.width, image.height]).toEqual([1200, 800]);
    let magenta = 0;
    let blue = 0;
    for (let y = 0; y < image.height; y += 2) {
      for (let x = 0; x < image.width; x += 2) {
        const [r, g, b] = image.rgb(x, y);
        if (r > 200 && g < 40 && b > 200) magenta++;
        if (b > 190 && r < 160 && g > 150 && g < 200) blue++;
      }
    }
    // hot_a spans 62.5% of the width on one row, so thousands of sampled pixels are highlighted.
    expect(magenta).toBeGreaterThan(1500);
    // Three kernel rows, 12.5% wide, drawn in blue.
    expect(blue).toBeGreaterThan(500);
  });
});
