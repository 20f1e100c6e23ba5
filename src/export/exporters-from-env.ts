/**
 * What the agent controller calls: every exporter the environment asks for
 * (OTLP when an OTEL_EXPORTER_OTLP_(PROFILES_)ENDPOINT is set, Pyroscope when
 * MESHPROF_PYROSCOPE_URL is set), each with its own queue.
 */
import { hostname } from 'node:os';
import type { OtlpEncodeOptions } from '../encode/otlp.js';
import type { EnvRecord } from '../config/otlp-env.js';
import { readOtlpEnv, readOtlpResourceEnv } from '../config/otlp-env.js';
import { readPyroscopeEnv } from '../config/pyroscope-env.js';
import type { ExporterDeps } from './otlp-exporter.js';
import { createOtlpExporter } from './otlp-exporter.js';
import { createPyroscopeExporter } from './pyroscope-exporter.js';
import type { ProfileExporter } from './queued-exporter.js';

/** Resource settings from OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES plus this host's name. */
export function resourceOptionsFromEnv(env: EnvRecord, hostName: string = hostname()): OtlpEncodeOptions {
  const resource = readOtlpResourceEnv(env);
  return { serviceName: resource.serviceName, resourceAttributes: resource.resourceAttributes, hostName };
}

/** Creates the exporters env configures; throws, naming the variable, on bad values. */
export function createExportersFromEnv(env: EnvRecord, deps: ExporterDeps, hostName?: string): ProfileExporter[] {
  const resource = resourceOptionsFromEnv(env, hostName);
  const exporters: ProfileExporter[] = [];
  const otlp = readOtlpEnv(env);
  if (otlp.endpointExplicit) exporters.push(createOtlpExporter(otlp, resource, deps));
  const pyroscope = readPyroscopeEnv(env);
  if (pyroscope) exporters.push(createPyroscopeExporter(pyroscope, resource, deps));
  return exporters;
}
