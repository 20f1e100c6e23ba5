import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { bpfSkipReason } from '../helpers/bpf-prerequisites.js';
import { compileFixture, OMIT_FRAME_POINTER } from '../helpers/compile-fixture.js';
import { record, type Recording } from '../helpers/record.js';
import { suiteFixtures } from '../helpers/suite-fixtures.js';

const skip = bpfSkipReason();

/** What glibc's startup code adds below main. */
const START = ['__libc_start_call_main', '__libc_start_main@@GLIBC_2.34', '_start'];

/** The library's part of the stack unwind-dlopen-main spins in once it has loaded it, leaf first. */
const LIB_CHAIN = ['lib_leaf', 'lib_f5', 'lib_f4', 'lib_f3', 'lib_f2', 'lib_f1', 'lib_entry'];
const FULL = [...LIB_CHAIN, 'main_call', 'main_load', 'main', ...START];

/** How long after sampling started the fixture dlopen()s the library (it times this itself). */
const LOAD_AFTER_MS = 1500;

/** What one recording of the fixture showed. */
interface DlopenRun {
  readonly rec: Recording;
  /** Whether the library was mapped when sampling started, and when it ended. */
  readonly mappedAtStart: boolean;
  readonly mappedAtEnd: boolean;
  /** Samples whose leaf is in the library; of them, those reaching main; those with exactly FULL. */
  readonly inLib: number;
  readonly reachMain: number;
  readonly complete: number;
  /** Samples before the dlopen (leaf in main_wait), and of them those that are complete. */
  readonly waiting: number;
  readonly waitingComplete: number;
  /** How long sampling ran, and how much of it the test's event loop (which polls) was stalled. */
  readonly sampledMs: number;
  readonly stalledMs: number;
  readonly maxStallMs: number;
}

describe('unwind tables follow a library loaded with dlopen() while sampling', () => {
  const fixtures = suiteFixtures(skip);
  let binary = '';
  let library = '';
  beforeAll(() => {
    library = compileFixture('unwind-dlopen-lib.c', { flags: [...OMIT_FRAME_POINTER, '-shared', '-fPIC'] });
    binary = compileFixture('unwind-dlopen-main.c', { flags: OMIT_FRAME_POINTER });
  });

  /**
   * Starts the fixture, records it for `ms`; the moment sampling is on it
   * tells the fixture (SIGUSR1) to spin 1.5 s more in its own code and then
   * dlopen() the library.
   */
  async function dlopenRun(dwarfUnwind: boolean, ms: number): Promise<DlopenRun> {
    const child = await fixtures.start(binary, [library, String(LOAD_AFTER_MS)], 100);
    const mapped = (): boolean => readFileSync(`/proc/${child.pid}/maps`, 'utf8').includes(library);
    let mappedAtStart = true;
    let sampling = 0;
    let last = 0;
    let stalledMs = 0;
    let maxStallMs = 0;
    let ticker: NodeJS.Timeout | undefined;
    const rec = await record('oncpu', [child.pid], ms, dwarfUnwind, () => {
      mappedAtStart = mapped();
      child.kill('SIGUSR1');
      sampling = last = performance.now();
      // the collector polls on this event loop: a stalled loop polls late
      ticker = setInterval(() => {
        const now = performance.now();
        const gap = now - last;
        if (gap > 100) stalledMs += gap;
        maxStallMs = Math.max(maxStallMs, gap);
        last = now;
      }, 20);
    }).finally(() => clearInterval(ticker));
    const sampledMs = performance.now() - sampling;
    const mappedAtEnd = mapped();
    const sum = (pred: (names: readonly string[], files: readonly string[]) => boolean): number =>
      rec.stacks.filter((s) => pred(s.names, s.files)).reduce((n, s) => n + s.count, 0);
    const libLeaf = (files: readonly string[]): boolean => files[0] === library;
    return {
      rec, mappedAtStart, mappedAtEnd,
      inLib: sum((_, f) => libLeaf(f)),
      reachMain: sum((n, f) => libLeaf(f) && n.includes('main')),
      complete: sum((n) => n.join(';') === FULL.join(';')),
      waiting: sum((n) => n[0] === 'main_wait'),
      waitingComplete: sum((n) => n.join(';') === ['main_wait', 'main', ...START].join(';')),
      sampledMs, stalledMs, maxStallMs,
    };
  }

  function report(label: string, r: DlopenRun): void {
    const top = r.rec.stacks.find((s) => s.files[0] === library);
    console.log(`dlopen, ${label}: ${r.rec.total} samples in ${(r.sampledMs / 1000).toFixed(1)} s; `
      + `before the dlopen ${r.waiting} (${r.waitingComplete} complete); `
      + `leaf in the library ${r.inLib}, ${r.reachMain} reach main (${(100 * r.reachMain / Math.max(1, r.inLib)).toFixed(1)}%), `
      + `${r.complete} the exact chain; top library stack ${top?.count}: ${top?.names.join(' <- ')}; `
      + `drops ${JSON.stringify(r.rec.profile.drops)}; event loop stalled ${r.stalledMs.toFixed(0)} ms (longest ${r.maxStallMs.toFixed(0)} ms)`);
  }

  it('walks from the library\'s leaf through main\'s frames to main, where frame pointers alone do not', async () => {
    const dwarf = await dlopenRun(true, 12_000);
    report('.eh_frame walker', dwarf);
    // the library came in while sampling, not before
    expect(dwarf.mappedAtStart).toBe(false);
    expect(dwarf.mappedAtEnd).toBe(true);
    // before the dlopen: the program's own code, complete
    expect(dwarf.waiting).toBeGreaterThan(50);
    expect(dwarf.waitingComplete).toBeGreaterThan(dwarf.waiting * 0.9);
    // about 10.5 s of the library at 199 Hz, fewer on a busy machine
    expect(dwarf.inLib).toBeGreaterThan(500);
    const top = dwarf.rec.stacks.find((s) => s.files[0] === library)!;
    expect(top.names).toEqual(FULL);
    expect(top.files.slice(0, LIB_CHAIN.length + 3)).toEqual([...LIB_CHAIN.map(() => library), binary, binary, binary]);
    expect(dwarf.complete).toBe(dwarf.reachMain);

    // A drain that sees any of the process's leaves outside its known
    // mappings re-reads them and the library's table follows; only the
    // samples before that stop at the leaf, and they are counted as drops,
    // not lost silently. That drain is the first after the dlopen (at most
    // a second later), then the table is built: 2.5 s allowed. A stalled
    // event loop polls late, so every stall is allowed too. Unfollowed,
    // none would reach main.
    const incomplete = dwarf.inLib - dwarf.reachMain;
    const perMs = dwarf.rec.total / dwarf.sampledMs;
    const allowed = perMs * (2500 + dwarf.stalledMs);
    const stalls = `event loop stalled ${dwarf.stalledMs.toFixed(0)} ms`;
    expect(incomplete, `at most ${allowed.toFixed(0)}: ${perMs.toFixed(3)} samples/ms, ${stalls}`).toBeLessThanOrEqual(allowed);
    expect(dwarf.reachMain, stalls).toBeGreaterThan(dwarf.inLib * 0.5);
    expect(dwarf.rec.profile.drops.user_stack_truncated_unreadable ?? 0).toBeGreaterThanOrEqual(incomplete * 0.9);

    const fp = await dlopenRun(false, 4000);
    report('frame pointers only', fp);
    expect(fp.mappedAtStart).toBe(false);
    expect(fp.mappedAtEnd).toBe(true);
    expect(fp.inLib).toBeGreaterThan(50);
    expect(fp.reachMain).toBeLessThan(fp.inLib * 0.05);
  }, 50_000);
});
