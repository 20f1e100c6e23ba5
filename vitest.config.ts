import { defineConfig } from 'vitest/config';

// Integration tests load real BPF programs; running them in parallel would
// let one test's samplers see another test's load, so files run one at a time.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
