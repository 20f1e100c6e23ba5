// Property-based fuzzing of every file parser (fast-check): real binaries
// with a few bytes rewritten inside one region the parsers read (a header
// table, .eh_frame, .gopclntab, .debug_line, ...) must parse to a result or
// to a SectionFormatError naming the file and a section: never a raw
// RangeError/TypeError, never a hang. The seed is fixed so `npm test` runs
// the same mutants every time, about a minute in all; `npm run fuzz` runs
// many more (FUZZ_RUNS, FUZZ_SEED). Inputs that once broke a parser are
// kept in test/fixtures/parser-corpus.json as recipes and run first.
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePerfMap } from '../../src/symbolize/perf-map.js';
import { compileFixture } from '../helpers/compile-fixture.js';
import { applyMutation, buildGoFixture, describeMutation, parserRegions, writeProgram, type Mutation, type Region } from '../helpers/crafted-binaries.js';
import { parseEverySection } from '../helpers/parse-every-section.js';
import { fixturesDir } from '../helpers/repo-root.js';

/** Runs per binary: small under `npm test`, FUZZ_RUNS under `npm run fuzz`. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 0) || undefined;
const SEED = Number(process.env.FUZZ_SEED ?? 20);

/** Recipes that once broke a parser, per binary name. */
const corpus = JSON.parse(readFileSync(join(fixturesDir, 'parser-corpus.json'), 'utf8')) as Record<string, Mutation[]>;

/** Values that break length and offset fields more often than random ones do. */
const INTERESTING = [0, 1, 4, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xfffffff0, 0xfffffff4, 0xffffffff];

function mutations(regions: readonly Region[]): fc.Arbitrary<Mutation> {
  const edit = fc.record({
    at: fc.nat(),
    kind: fc.constantFrom('u8' as const, 'u32' as const, 'xor' as const),
    value: fc.oneof(fc.constantFrom(...INTERESTING), fc.nat(0xffffffff)),
  });
  return fc.record(
    {
      region: fc.constantFrom(...regions.map((r) => r.name)),
      edits: fc.array(edit, { minLength: 1, maxLength: 8 }),
      cutAt: fc.option(fc.nat(), { freq: 8, nil: undefined }),
    },
    { requiredKeys: ['region', 'edits'] },
  );
}

/** Mutants of `source` through every parser: `runs` of them plus the corpus's. */
function fuzzBinary(name: string, source: () => string, runs: number): void {
  describe(name, () => {
    let dir = '';
    let original = Buffer.alloc(0);
    let regions: Region[] = [];
    let mutant = '';
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), `parser-fuzz-${name}-`));
      const path = join(dir, name);
      copyFileSync(source(), path);
      original = readFileSync(path);
      regions = parserRegions(path);
      mutant = join(dir, `${name}-mutant`);
    }, 300_000);
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('parses unchanged to a result from every parser', () => {
      writeProgram(mutant, original);
      const outcome = parseEverySection(mutant);
      expect(outcome.errors.map((e) => e.message)).toEqual([]);
    });

    it(`gives a result or a SectionFormatError naming the file and section for every mutant (${RUNS ?? runs} runs, seed ${SEED})`, async () => {
      const seen = { ok: 0, errors: 0, sections: new Set<string>() };
      const examples = (corpus[name] ?? []).filter((m) => regions.some((r) => r.name === m.region)).map((m) => [m] as [Mutation]);
      // Async only to yield between mutants: a long `npm run fuzz` must not starve vitest's worker RPC.
      await fc.assert(
        fc.asyncProperty(mutations(regions), async (m) => {
          await new Promise((resolve) => setImmediate(resolve));
          writeProgram(mutant, applyMutation(original, regions, m));
          try {
            const outcome = parseEverySection(mutant);
            seen.ok += outcome.ok.length;
            seen.errors += outcome.errors.length;
            for (const e of outcome.errors) seen.sections.add(e.section);
          } catch (err) {
            throw new Error(`mutant ${describeMutation(m)}: ${(err as Error).message}`);
          }
        }),
        { seed: SEED, numRuns: RUNS ?? runs, examples, endOnFailure: true },
      );
      // The mutants reach the parsers: some are refused, by a named section.
      console.log(`${name}: ${seen.ok} parser results, ${seen.errors} clean errors, in ${[...seen.sections].sort().join(', ')}`);
      expect(seen.errors).toBeGreaterThan(0);
    }, Math.max(600_000, (RUNS ?? 0) * 2000));
  });
}

describe('file parsers under mutated binaries', () => {
  // A gcc build with zlib-compressed DWARF: .debug_line goes through the inflater too.
  fuzzBinary('gcc-busy', () => compileFixture('busy.c', { name: 'fuzz-busy-gz', flags: ['-O2', '-g', '-gz=zlib'] }), 600);
  fuzzBinary('go-stripped', () => buildGoFixture('main.go', 'lang-go-main-stripped', true), 400);
  fuzzBinary('nginx', () => '/usr/sbin/nginx', 250);
  fuzzBinary('libc', () => '/lib/x86_64-linux-gnu/libc.so.6', 200);
});

describe('perf map parser under mutated text', () => {
  it('parses any text to symbols, never throws', () => {
    const line = fc.oneof(
      fc.string(),
      fc.tuple(fc.bigInt({ min: 0n, max: (1n << 70n) }), fc.bigInt({ min: 0n, max: (1n << 70n) }), fc.string()).map(([a, s, n]) => `${a.toString(16)} ${s.toString(16)} ${n}`),
      fc.constantFrom('7f00 10 JS:*f file://host/x.js:1:2', '1 1 LazyCompile:~ file://%zz:1:1', '1 1 py::f:', '1 1 Builtin:', '0x10 0x20 void A.b()'),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 20 }), (lines) => {
        const symbols = parsePerfMap(lines.join('\n'));
        for (const s of symbols) expect(typeof s.name).toBe('string');
      }),
      { seed: SEED, numRuns: RUNS ?? 300 },
    );
  });
});
