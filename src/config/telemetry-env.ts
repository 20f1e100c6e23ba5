/**
 * The self-telemetry switch: OTEL_TRACES_EXPORTER=otlp sends the agent's own
 * spans (see export/self-telemetry.ts, whose startSelfTelemetry applies it and
 * checks the same values); none, or unset, keeps them off.
 */
import { ConfigError } from './config-error.js';
import { envValue, type EnvRecord } from './env-values.js';

export type TracesExporter = 'otlp' | 'none';

/** Reads OTEL_TRACES_EXPORTER; throws naming it on a value the agent cannot use. */
export function readTracesExporterEnv(env: EnvRecord): TracesExporter {
  const choice = envValue(env, 'OTEL_TRACES_EXPORTER') ?? 'none';
  if (choice !== 'otlp' && choice !== 'none') {
    throw new ConfigError('OTEL_TRACES_EXPORTER', `reading OTEL_TRACES_EXPORTER: "${choice}" is not supported (use otlp or none)`);
  }
  return choice;
}
