/**
 * The symbolization fixtures (sym-target.c linked against sym-lib.c), built
 * into test/fixtures/bin/sym, and a starter that reads the addresses they
 * print about themselves.
 */
import { join } from 'node:path';
import { compileFixture, fixtureBinDir } from './compile-fixture.js';
import { fixturesDir } from './repo-root.js';
import { startFixture, type StartedFixture } from './start-fixture.js';

/** Where the fixture binaries go. */
export const SYM_BIN = join(fixtureBinDir, 'sym');

/** Paths of the built fixtures. */
export interface SymFixtures {
  readonly lib: string;
  readonly pie: string;
  readonly nopie: string;
  /** PIE built with -rdynamic, then stripped: only .dynsym remains. */
  readonly stripped: string;
}

/** Compiles every fixture once (incrementally). */
export function buildSymFixtures(): SymFixtures {
  const common = ['-O1', '-g0', '-fno-omit-frame-pointer', '-Wl,--build-id'];
  const lib = compileFixture('sym-lib.c', { name: 'sym/libsym-lib.so', flags: [...common, '-fPIC', '-shared'] });
  const link = { libs: ['-L', SYM_BIN, '-lsym-lib', `-Wl,-rpath,${SYM_BIN}`], inputs: [lib, join(fixturesDir, 'sym-lib.c')] };
  const pie = compileFixture('sym-target.c', { name: 'sym/sym-target-pie', flags: [...common, '-fPIE', '-pie'], ...link });
  const nopie = compileFixture('sym-target.c', { name: 'sym/sym-target-nopie', flags: [...common, '-fno-pie', '-no-pie'], ...link });
  const stripped = compileFixture('sym-target.c', { name: 'sym/sym-target-stripped', flags: [...common, '-fPIE', '-pie', '-rdynamic'], ...link, strip: true });
  return { lib, pie, nopie, stripped };
}

/** A started fixture and the addresses it printed. */
export interface RunningFixture {
  readonly child: StartedFixture;
  readonly pid: number;
  /** Function name → runtime address, as printed by the program itself. */
  readonly printed: ReadonlyMap<string, bigint>;
  /** Closes stdin and waits for the exit. */
  stop(): Promise<void>;
}

/** Starts a sym-target build and waits for its "ready" line; it runs until stdin closes. */
export async function startSymFixture(path: string): Promise<RunningFixture> {
  const child = await startFixture(path, [], { readyOn: 'ready\n', stdin: true });
  const printed = new Map<string, bigint>();
  for (const line of child.readyOutput.split('\n')) {
    const m = /^(\w+) 0x([0-9a-f]+)$/.exec(line);
    if (m !== null) printed.set(m[1]!, BigInt(`0x${m[2]!}`));
  }
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child,
    pid: child.pid,
    printed,
    stop: async () => {
      child.stdin!.end();
      await exited;
    },
  };
}
