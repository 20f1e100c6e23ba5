/**
 * What the agent controller calls: every exporter the environment asks for
 * (OTLP when an OTEL_EXPORTER_OTLP_(PROFILES_)ENDPOINT is set, Pyroscope when
 * MESHPROF_PYROSCOPE_URL is set), each with its own queue.
 */
import { hostname } from 'node:os';
import type { OtlpEncodeOptions } from '../encode/otlp.js';
import type { ExportersEnvConfig } from '../config/exporters-env.js';
import type { EnvRecord } from '../config/env-values.js';
import type { OtlpResourceConfig } from '../config/otlp-env.js';
import { readOtlpResourceEnv } from '../config/otlp-env.js';
import type { ExporterDeps } from './otlp-exporter.js';
import { createOtlpExporter } from './otlp-exporter.js';
import { createPyroscopeExporter } from './pyroscope-exporter.js';
import type { ForwardingExporter } from './forwarding-exporter.js';

/** Resource settings (OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES, already read) plus this host's name. */
export function resourceOptions(resource: OtlpResourceConfig, hostName: string = hostname()): OtlpEncodeOptions {
  return { serviceName: resource.serviceName, resourceAttributes: resource.resourceAttributes, hostName };
}

/** Resource settings from OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES plus this host's name. */
export function resourceOptionsFromEnv(env: EnvRecord, hostName: string = hostname()): OtlpEncodeOptions {
  return resourceOptions(readOtlpResourceEnv(env), hostName);
}

/** Creates the exporters the (already validated) settings ask for. */
export function createExporters(settings: ExportersEnvConfig, deps: ExporterDeps, hostName?: string): ForwardingExporter[] {
  const resource = resourceOptions(settings.resource, hostName);
  const exporters: ForwardingExporter[] = [];
  if (settings.otlp.endpointExplicit) exporters.push(createOtlpExporter(settings.otlp, resource, deps));
  if (settings.pyroscope) exporters.push(createPyroscopeExporter(settings.pyroscope, resource, deps));
  return exporters;
}

