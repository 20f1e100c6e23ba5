#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=1 --single-threaded-gc
// Thin launcher. The build (scripts/setup.sh) makes both the compiled
// TypeScript (dist/src) and a bundle of it per entry point (dist/bundle,
// scripts/bundle.mjs), which loads a few files instead of ~150 modules in
// the CLI and again in each worker thread. dist/src runs when there is no
// bundle (a tree built by tsc alone), or when tsc wrote dist/src after the
// bundle was made: then the bundle is older code, and saying so beats
// running it. A 1 MiB semi-space (V8's default is 16) keeps the young
// generation small: an always-on agent's peak RSS fell from 281 to 233 MB
// beside a busy build, for the same CPU. Two malloc arenas, not glibc's 8 per
// core: the worker threads, V8's and libuv's each freed into an arena of their
// own, and at 50 execs/s those held 9 MB beside 5 MB in the main one after
// five minutes, against 2 + 7 MB with two (docs/benchmarks.md, twelfth session).
// GC on the thread that needs it, without V8's helper threads: concurrent
// marking of the agent's ~9 MB heap cost 30-55 ms of CPU across four threads
// where the same full GC done by the main thread alone cost ~22 ms, and the
// pauses that saves do not matter to an agent whose sampling is in the kernel
// (docs/benchmarks.md, eighteenth session).
import { statSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';

// The agent runs the same interval code every few seconds for days, and V8
// threw its optimized code away at each interval's full GC and compiled it
// again: TurboFan on the platform threads was a third of the agent's steady
// CPU. A 15x interrupt budget tiers up only code that runs long (the table
// builds' loops, as fast as before) and leaves the rest in Sparkplug's
// baseline code: a third less steady CPU at 99 Hz (docs/benchmarks.md,
// eighth session).
// Set before the bundle loads, so every function it creates has this budget.
if (process.argv[2] === 'agent') setFlagsFromString('--interrupt-budget=1000000');

const dist = new URL('../dist/', import.meta.url);
const mtime = (name) => statSync(new URL(name, dist), { throwIfNoEntry: false })?.mtimeMs;
const bundled = mtime('bundle/meshprof.js');
const compiled = mtime('.tsbuildinfo');
let entry = '../dist/src/cli/main.js';
if (bundled !== undefined) {
  if (compiled !== undefined && compiled > bundled + 1000) {
    process.stderr.write('meshprof: dist/bundle is older than dist/src (tsc ran after it): running dist/src; `npm run build` bundles it again\n');
  } else {
    entry = new URL('bundle/meshprof.js', dist).href;
  }
}
const { main } = await import(entry);

main(process.argv).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(err instanceof Error ? err.message : String(err)); process.exitCode = 1; },
);
