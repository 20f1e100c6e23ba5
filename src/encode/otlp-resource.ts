/**
 * Resource attributes for one profiled process, after the OpenTelemetry
 * semantic conventions (process.*, host.name, service.name, container.id,
 * k8s.*).
 */
import { basename } from 'node:path';
import { create } from '@bufbuild/protobuf';
import type { KeyValue } from '../gen/opentelemetry/proto/common/v1/common_pb.js';
import { KeyValueSchema } from '../gen/opentelemetry/proto/common/v1/common_pb.js';
import type { Resource } from '../gen/opentelemetry/proto/resource/v1/resource_pb.js';
import { ResourceSchema } from '../gen/opentelemetry/proto/resource/v1/resource_pb.js';
import type { ProcessMetadata } from '../profile/model.js';

/** Agent-wide resource settings (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, host). */
export interface OtlpResourceOptions {
  /** OTEL_SERVICE_NAME: used when the process has no service.name of its own. */
  readonly serviceName?: string | undefined;
  /** OTEL_RESOURCE_ATTRIBUTES, already parsed; process-derived values win over them. */
  readonly resourceAttributes?: Readonly<Record<string, string>> | undefined;
  readonly hostName?: string | undefined;
}

/** The service name a process is reported under, in the order the OTel spec gives. */
export function serviceNameOf(process: ProcessMetadata, options: OtlpResourceOptions): string {
  return (
    process.attributes['service.name'] ??
    options.serviceName ??
    options.resourceAttributes?.['service.name'] ??
    `unknown_service:${executableNameOf(process)}`
  );
}

/** Executable file name: the basename of its path, else the main thread's comm. */
export function executableNameOf(process: ProcessMetadata): string {
  return process.executablePath ? basename(process.executablePath) : process.name;
}

/** Flat attribute map for one process: env attributes, then host, then the process's own. */
export function resourceAttributesOf(
  process: ProcessMetadata,
  options: OtlpResourceOptions,
): Record<string, string | number> {
  const attrs: Record<string, string | number> = { ...options.resourceAttributes };
  if (options.hostName) attrs['host.name'] = options.hostName;
  Object.assign(attrs, process.attributes);
  attrs['process.pid'] = process.pid;
  attrs['process.executable.name'] = executableNameOf(process);
  if (process.executablePath) attrs['process.executable.path'] = process.executablePath;
  attrs['service.name'] = serviceNameOf(process, options);
  return attrs;
}

/** Attributes the semantic conventions type as string lists; meshprof keeps them comma-separated until encoding. */
export const LIST_ATTRIBUTES: ReadonlySet<string> = new Set(['container.image.tags']);

/** The OTLP Resource message for one process. */
export function buildOtlpResource(process: ProcessMetadata, options: OtlpResourceOptions): Resource {
  const attributes: KeyValue[] = Object.entries(resourceAttributesOf(process, options)).map(([key, v]) =>
    create(KeyValueSchema, {
      key,
      value: {
        value: typeof v === 'number'
          ? { case: 'intValue', value: BigInt(v) }
          : LIST_ATTRIBUTES.has(key)
            ? { case: 'arrayValue', value: { values: v.split(',').map((item) => ({ value: { case: 'stringValue' as const, value: item } })) } }
            : { case: 'stringValue', value: v },
      },
    }),
  );
  return create(ResourceSchema, { attributes });
}
