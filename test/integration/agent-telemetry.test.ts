/**
 * Self-telemetry of `meshprof agent` (real BPF, as root): with
 * OTEL_TRACES_EXPORTER=otlp the agent sends a span per collection cycle and
 * per export request to the OTLP trace endpoint; profiles go elsewhere
 * through the _PROFILES_ variables.
 */
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { startAgent } from '../helpers/start-agent.js';
import { startGrpcServer } from '../helpers/test-servers.js';

const TRACE_EXPORT = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

describe('meshprof agent self-telemetry (real BPF, as root)', () => {
  it('sends collection-cycle and export spans when OTEL_TRACES_EXPORTER=otlp', async () => {
    const traces = await startGrpcServer(() => ({}), TRACE_EXPORT);
    const profiles = await startGrpcServer();
    // Something to sample: on a quiet host an interval of 1 s can hold no sample at all, and an empty one is not exported.
    const spinner = spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' });
    try {
      const agent = startAgent({
        MESHPROF_INTERVAL: '1s',
        MESHPROF_OUTPUT_DIR: 'none',
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://${traces.address}`,
        OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT: `http://${profiles.address}`,
        OTEL_EXPORTER_OTLP_PROFILES_PROTOCOL: 'grpc',
        OTEL_SERVICE_NAME: 'meshprof-under-test',
      });
      await agent.waitFor('agent started');
      expect(agent.logs().find((l) => l.msg === 'agent started')?.selfTelemetry).toBe(true);
      await agent.waitFor('collected interval');
      await sleep(1500);
      expect(await agent.stop(), agent.output().slice(-3000)).toBe(0);
      expect(profiles.requests.length).toBeGreaterThanOrEqual(1);
      expect(traces.requests.length).toBeGreaterThanOrEqual(1);
      // Span names and attribute keys travel as plain UTF-8 inside the protobuf.
      const wire = Buffer.concat(traces.requests.map((r) => r.bytes)).toString('latin1');
      expect(wire).toContain('collection cycle');
      expect(wire).toContain('export otlp-grpc');
      expect(wire).toContain('meshprof.profiles');
    } finally {
      spinner.kill('SIGKILL');
      await traces.close();
      await profiles.close();
    }
  });
});
