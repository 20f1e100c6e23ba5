/**
 * The profile exporters' settings, read together: OTLP (OTEL_EXPORTER_OTLP_*),
 * Pyroscope (MESHPROF_PYROSCOPE_*) and the resource they all describe
 * (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES).
 */
import { readEvery } from './config-error.js';
import type { EnvRecord } from './env-values.js';
import { readOtlpEnv, readOtlpResourceEnv, type OtlpExporterConfig, type OtlpResourceConfig } from './otlp-env.js';
import { readPyroscopeEnv, type PyroscopeExporterConfig } from './pyroscope-env.js';

/** What export/exporters-from-env.ts builds the exporters from. */
export interface ExportersEnvConfig {
  /** OTLP export is on when otlp.endpointExplicit. */
  readonly otlp: OtlpExporterConfig;
  /** OTLP metrics (network profiling): on when otlpMetrics.endpointExplicit (OTEL_EXPORTER_OTLP_(METRICS_)ENDPOINT). */
  readonly otlpMetrics: OtlpExporterConfig;
  /** OTLP logs (slow and failed requests): on when otlpLogs.endpointExplicit (OTEL_EXPORTER_OTLP_(LOGS_)ENDPOINT). */
  readonly otlpLogs: OtlpExporterConfig;
  /** Undefined when MESHPROF_PYROSCOPE_URL is unset. */
  readonly pyroscope: PyroscopeExporterConfig | undefined;
  readonly resource: OtlpResourceConfig;
}

/** Reads every exporter variable; throws naming each bad one (ConfigErrors when several are). */
export function readExportersEnv(env: EnvRecord): ExportersEnvConfig {
  return readEvery<ExportersEnvConfig>({
    otlp: () => readOtlpEnv(env),
    otlpMetrics: () => readOtlpEnv(env, 'METRICS'),
    otlpLogs: () => readOtlpEnv(env, 'LOGS'),
    pyroscope: () => readPyroscopeEnv(env),
    resource: () => readOtlpResourceEnv(env),
  });
}

/** Whether any profile exporter (OTLP, Pyroscope) is configured. */
export function hasProfileExporter(settings: ExportersEnvConfig): boolean {
  return settings.otlp.endpointExplicit || settings.pyroscope !== undefined;
}
