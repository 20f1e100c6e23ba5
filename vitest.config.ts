import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/**
 * Unit tests: no BPF, no root, no observed processes, no slow toolchains
 * (gcc, readelf, nm and `go tool pprof` are fine); they run anywhere, in
 * seconds, in parallel. Membership is by what a file does, not by folder:
 * a file that loads BPF, needs root, starts processes it then observes
 * (fixtures, the CLI, the agent, gdb), builds Go/Rust/Java programs or runs
 * Chromium is an integration test, and so is any file not listed here.
 * So are the two worker-thread suites (symbol-table-jobs, table-builder):
 * they read node's own binary in a compiled worker and count event-loop
 * turns, which other files running beside them would disturb.
 */
const unit = [
  'test/agent/agent-config.test.ts',
  'test/bench/scenario-classify.test.ts',
  'test/bench/wrapper-rusage.test.ts',
  'test/export/agent-metrics.test.ts',
  'test/discovery/discovery-service.test.ts',
  'test/config/*.test.ts',
  'test/discovery/cgroup-path.test.ts',
  'test/discovery/deploy-manifest.test.ts',
  'test/discovery/kube-config.test.ts',
  'test/discovery/label-selector.test.ts',
  'test/discovery/labels.test.ts',
  'test/discovery/pod-resolver.test.ts',
  'test/discovery/process-describer.test.ts',
  'test/discovery/resource-attributes.test.ts',
  'test/discovery/target-rules.test.ts',
  'test/discovery/target-selector.test.ts',
  'test/elf/eh-frame.test.ts',
  'test/elf/elf-file.test.ts',
  'test/elf/section-format.test.ts',
  'test/encode/folded.test.ts',
  'test/encode/otlp.test.ts',
  'test/encode/otlp-metrics.test.ts',
  'test/encode/pprof.test.ts',
  'test/export/file-output.test.ts',
  'test/export/local-files.test.ts',
  'test/export/otlp-merge.test.ts',
  'test/export/otlp-transports.test.ts',
  'test/export/pipeline.test.ts',
  'test/export/exporter-faults.test.ts',
  'test/export/pyroscope.test.ts',
  'test/export/self-telemetry.test.ts',
  'test/export/skywalking/encode.test.ts',
  'test/export/skywalking/oap-connection.test.ts',
  'test/export/skywalking/parsing.test.ts',
  'test/export/skywalking/reconnect.test.ts',
  'test/export/skywalking/rover-network.test.ts',
  'test/export/skywalking/continuous-http.test.ts',
  'test/export/skywalking/skywalking-exporter.test.ts',
  'test/kernel/cpus.test.ts',
  'test/kernel/errors.test.ts',
  'test/kernel/libbpf-log.test.ts',
  'test/kernel/privileges.test.ts',
  'test/log/agent-logger.test.ts',
  'test/log/redact.test.ts',
  'test/layout/stage-imports.test.ts',
  'test/process/proc-maps.test.ts',
  'test/process/process-images.test.ts',
  'test/samplers/probe-site.test.ts',
  'test/samplers/return-sites.test.ts',
  'test/profile/profile-collector-images.test.ts',
  'test/receive/receive-units.test.ts',
  'test/receive/otlp-codec.test.ts',
  'test/receive/load-shedder.test.ts',
  'test/profile/network-aggregator.test.ts',
  'test/profile/shared-network-sampler.test.ts',
  'test/profile/profile-diff.test.ts',
  'test/process/process-tracking.test.ts',
  'test/samplers/network-decode.test.ts',
  'test/kernel/ring-records.test.ts',
  'test/samplers/network-sampler-fake.test.ts',
  'test/samplers/hpack.test.ts',
  'test/samplers/h2-exchanges.test.ts',
  'test/samplers/trace-headers.test.ts',
  'test/samplers/h1-trace-context.test.ts',
  'test/samplers/memory-sampler-fake.test.ts',
  'test/samplers/oncpu-sampler-fake.test.ts',
  'test/samplers/target-selection-fake.test.ts',
  'test/symbolize/elf-symbol-table.test.ts',
  'test/symbolize/lang-cpp.test.ts',
  'test/symbolize/demangle.test.ts',
  'test/symbolize/lang-debuglink.test.ts',
  'test/symbolize/lang-dwarf-lines.test.ts',
  'test/symbolize/perf-map-exit.test.ts',
  'test/symbolize/python-frames.test.ts',
  'test/symbolize/python-lines.test.ts',
  'test/symbolize/symbol-cache.test.ts',
  'test/symbolize/symbol-disk-cache.test.ts',
  'test/symbolize/tls-binaries.test.ts',
  'test/unwind/process-unwinder.test.ts',
  'test/unwind/python-processes.test.ts',
  'test/unwind/unwind-header.test.ts',
  'test/unwind/unwind-stack-unit.test.ts',
  'test/unwind/unwind-table-manager.test.ts',
  'test/unwind/table-disk-cache.test.ts',
  'test/unwind/unwind-table-compiler.test.ts',
  'test/unwind/unwind-table-readelf.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
    // fileParallelism is global in vitest; the pools set each project's:
    // unit files share worker threads, integration files get one fresh
    // process each, one at a time.
    poolOptions: {
      threads: { maxThreads: availableParallelism(), minThreads: 1 },
      forks: { maxForks: 1, minForks: 1 },
    },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: unit,
          pool: 'threads',
          setupFiles: ['test/helpers/forbid-bpf.ts'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: unit,
          // Integration tests load real BPF programs; running them in
          // parallel would let one test's samplers see another test's load,
          // so files run one at a time, after the unit tests.
          pool: 'forks',
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
