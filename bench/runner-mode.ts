/**
 * Imported first by run.ts: marks the process as the benchmark runner
 * before any benchmark module is evaluated, so a module that is also a
 * standalone script (unwind-tables.ts under vite-node, which hides the
 * script path from argv) knows not to run its own main.
 */
process.env.BENCH_RUNNER = '1';
