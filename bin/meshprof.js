#!/usr/bin/env -S node --max-semi-space-size=1
// Thin launcher. The build (scripts/setup.sh) makes both the compiled
// TypeScript (dist/src) and a bundle of it per entry point (dist/bundle,
// scripts/bundle.mjs), which loads a few files instead of ~150 modules in
// the CLI and again in each worker thread. dist/src is the fallback for a
// tree built by tsc alone. A 1 MiB semi-space (V8's default is 16) keeps the
// young generation small: an always-on agent's peak RSS fell from 281 to
// 233 MB beside a busy build, for the same CPU.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/bundle/meshprof.js', import.meta.url);
const { main } = await import(existsSync(bundle) ? bundle.href : '../dist/src/cli/main.js');

main(process.argv).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(err instanceof Error ? err.message : String(err)); process.exitCode = 1; },
);
