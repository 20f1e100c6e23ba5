#!/usr/bin/env node
// Bundles tsc's output (dist/src) per entry point into dist/bundle, which
// bin/meshprof.js runs. Loading ~150 ES modules one by one was 15-20% of
// `record`'s CPU, and each worker thread loaded its share again.
//
//   meshprof.js              the CLI (dist/src/cli/main.js), split: each
//                            command and the lazily imported exporters,
//                            receiver and network code stay separate chunks,
//                            loaded only when used
//   exec-watcher-worker.js   the three worker threads, one self-contained
//   symbol-table-worker.js   file each (a worker is its own isolate: a chunk
//   table-builder-worker.js  shared with the CLI would be compiled again anyway)
//
// Every file lands flat in dist/bundle: the code resolves its worker scripts
// as siblings of itself (new URL('./x-worker.js', import.meta.url)), and the
// package root (build/*.bpf.o, the addon, package.json) by walking up.
// node_modules stay external. Of the ones `record` loads, lru-cache bundled
// imported in 9 instead of 14 ms of CPU; commander is CommonJS, which an ESM
// bundle can only hold with a require() shim: not worth ~5 ms.
//
// Input is tsc's output, not the sources, so the bundle runs exactly the code
// the tests import. Run by scripts/setup.sh after tsc; `node scripts/bundle.mjs`.
import { build } from 'esbuild';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'dist', 'src');
const outdir = join(root, 'dist', 'bundle');

const cli = { meshprof: join(src, 'cli', 'main.js') };
const workers = {
  'exec-watcher-worker': join(src, 'process', 'exec-watcher-worker.js'),
  'symbol-table-worker': join(src, 'symbolize', 'symbol-table-worker.js'),
  'table-builder-worker': join(src, 'unwind', 'table-builder-worker.js'),
};
for (const [name, file] of Object.entries({ ...cli, ...workers })) {
  if (!existsSync(file)) throw new Error(`bundling ${name}: ${file} is missing; run tsc -p tsconfig.json first`);
}

const common = {
  absWorkingDir: root,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  outdir,
  // tsc's .js.map files are read and chained: --enable-source-maps points at src/*.ts.
  sourcemap: 'linked',
  // Lets the path helpers insist on the bundle's own worker scripts (no fallback to dist/src).
  define: { __MESHPROF_BUNDLE__: 'true' },
  logLevel: 'warning',
};

// Stale chunks (their names carry a content hash) would pile up.
rmSync(outdir, { recursive: true, force: true });
const builds = [
  await build({ ...common, entryPoints: cli, splitting: true, chunkNames: '[name]-[hash]', metafile: true }),
  await build({ ...common, entryPoints: workers, splitting: false, metafile: true }),
];
// Which dist/src modules each bundle file holds (paths relative to the
// package root): tests map the files a run loaded back to modules with it.
const outputs = {};
for (const b of builds) {
  for (const [out, meta] of Object.entries(b.metafile.outputs)) {
    if (!out.endsWith('.map')) outputs[out] = Object.keys(meta.inputs).sort();
  }
}
writeFileSync(join(outdir, 'modules.json'), JSON.stringify(outputs, null, 1) + '\n');
