/**
 * The pipeline's layout, checked: each src/ folder is a stage, and imports
 * point down the stage order docs/internals.md gives (toward the kernel and
 * the file formats), never up. Samplers and the symbolizer are built in one
 * place outside their folders.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '../..');
const src = join(root, 'src');

/** Bottom first: a stage may import only stages before it (and generated code). */
const STAGE_ORDER = ['log', 'kernel', 'stacks', 'elf', 'samplers', 'process', 'unwind', 'symbolize', 'discovery', 'profile', 'config', 'encode', 'receive', 'export', 'agent', 'cli'];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const stageOf = (path: string): string => relative(src, path).split('/')[0] ?? '';
const files = sources(src).filter((f) => stageOf(f) !== 'gen');

function importsOf(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)].map((m) => resolve(dirname(file), m[1]!));
}

describe('pipeline layout', () => {
  it('has a place in the stage order for every src/ folder', () => {
    const folders = readdirSync(src).filter((f) => statSync(join(src, f)).isDirectory() && f !== 'gen');
    expect(folders.filter((f) => !STAGE_ORDER.includes(f))).toEqual([]);
  });

  it('imports only down the stage order', () => {
    const upward: string[] = [];
    for (const f of files) {
      const from = STAGE_ORDER.indexOf(stageOf(f));
      for (const target of importsOf(f)) {
        const to = stageOf(target);
        if (to !== 'gen' && STAGE_ORDER.indexOf(to) > from) upward.push(`${relative(root, f)} imports ${to}/`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('keeps the serializers and transports away from the samplers', () => {
    const reaching = files.filter((f) => ['encode', 'export'].includes(stageOf(f)))
      .filter((f) => importsOf(f).some((t) => stageOf(t) === 'samplers'))
      .map((f) => relative(root, f));
    expect(reaching).toEqual([]);
  });

  it('lists the same stage order in docs/internals.md', () => {
    const doc = readFileSync(join(root, 'docs/internals.md'), 'utf8');
    const listed = [...doc.matchAll(/^src\/(\w+)\//gm)].map((m) => m[1]);
    expect(listed).toEqual([...STAGE_ORDER].reverse());
  });

  it('builds samplers in one place and the symbolizer in one place outside their folders', () => {
    const sitesOf = (pattern: RegExp): string[] => files
      .filter((f) => !['samplers', 'symbolize'].includes(stageOf(f)) && pattern.test(readFileSync(f, 'utf8')))
      .map((f) => relative(root, f));
    expect(sitesOf(/\bcreate(OnCpuSampler|OffCpuSampler|NetworkSampler)\(/)).toEqual(['src/profile/sampler-kinds.ts']);
    expect(sitesOf(/\bcreateSymbolizer\(/)).toEqual(['src/agent/collector-factory.ts']);
  });

  it('keeps the native addon behind kernel/', () => {
    const users = files.filter((f) => stageOf(f) !== 'kernel' && /meshprof\.node|native-addon/.test(readFileSync(f, 'utf8')));
    expect(users.map((f) => relative(root, f))).toEqual([]);
  });
});
