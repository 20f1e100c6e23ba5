/**
 * Hand-built OTLP profiles requests, as another producer would send them:
 * one resource per entry, one profile per resource, stacks given as
 * function names (leaf first) with their values, and a dictionary built
 * here rather than by meshprof's encoder.
 */
import { create } from '@bufbuild/protobuf';
import type { ExportProfilesServiceRequest } from '../../src/gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';
import { ExportProfilesServiceRequestSchema } from '../../src/gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';

/** One producer's resource and its samples. */
export interface HandBuiltResource {
  readonly attributes: Readonly<Record<string, string | number>>;
  readonly sampleType?: readonly [string, string];
  /** Leaf-first function names and the sample's value. */
  readonly stacks: readonly { readonly frames: readonly string[]; readonly value: number; readonly thread?: string }[];
}

/** Builds the request; every table starts with its zero entry, as the spec asks. */
export function buildOtlpRequest(resources: readonly HandBuiltResource[]): ExportProfilesServiceRequest {
  const strings = [''];
  const str = (s: string): number => {
    const i = strings.indexOf(s);
    if (i >= 0) return i;
    strings.push(s);
    return strings.length - 1;
  };
  const functions = [{ nameStrindex: 0, systemNameStrindex: 0, filenameStrindex: 0 }];
  const locations = [{ mappingIndex: 0, address: 0n, lines: [] as { functionIndex: number; line: bigint }[] }];
  const stacks = [{ locationIndices: [] as number[] }];
  const attributes = [{ keyStrindex: 0 }] as { keyStrindex: number; value?: { value: { case: 'stringValue'; value: string } } }[];
  const fn = (name: string): number => {
    const known = functions.findIndex((f, i) => i > 0 && strings[f.nameStrindex] === name);
    if (known > 0) return known;
    functions.push({ nameStrindex: str(name), systemNameStrindex: str(name), filenameStrindex: str('app.c') });
    locations.push({ mappingIndex: 0, address: BigInt(0x1000 + locations.length * 16), lines: [{ functionIndex: functions.length - 1, line: 10n }] });
    return locations.length - 1;
  };
  const threadAttr = (name: string): number => {
    attributes.push({ keyStrindex: str('thread.name'), value: { value: { case: 'stringValue', value: name } } });
    return attributes.length - 1;
  };
  const resourceProfiles = resources.map((r) => {
    const [type, unit] = r.sampleType ?? ['cpu', 'nanoseconds'];
    const samples = r.stacks.map((s) => {
      stacks.push({ locationIndices: s.frames.map(fn) });
      return { stackIndex: stacks.length - 1, values: [BigInt(s.value)], attributeIndices: s.thread ? [threadAttr(s.thread)] : [] };
    });
    return {
      resource: {
        attributes: Object.entries(r.attributes).map(([key, v]) => ({
          key, value: { value: typeof v === 'number' ? { case: 'intValue' as const, value: BigInt(v) } : { case: 'stringValue' as const, value: v } },
        })),
      },
      scopeProfiles: [{
        scope: { name: 'hand-built' },
        profiles: [{
          sampleType: { typeStrindex: str(type), unitStrindex: str(unit) },
          periodType: { typeStrindex: str(type), unitStrindex: str(unit) },
          period: 10_000_000n,
          timeUnixNano: 1_700_000_000_000_000_000n,
          durationNano: 10_000_000_000n,
          samples,
        }],
      }],
    };
  });
  return create(ExportProfilesServiceRequestSchema, {
    resourceProfiles,
    dictionary: { stringTable: strings, functionTable: functions, locationTable: locations, stackTable: stacks, attributeTable: attributes, mappingTable: [{}], linkTable: [{}] },
  });
}

/** Every sample of a request (or of its resource `only`) as `leaf;...;root value` lines (sorted), read through its dictionary. */
export function otlpStacks(request: ExportProfilesServiceRequest, only?: number): string[] {
  const d = request.dictionary!;
  const name = (loc: number): string => d.stringTable[d.functionTable[d.locationTable[loc]!.lines[0]!.functionIndex]!.nameStrindex]!;
  const lines: string[] = [];
  for (const [i, rp] of request.resourceProfiles.entries()) {
    if (only !== undefined && i !== only) continue;
    for (const sp of rp.scopeProfiles) {
      for (const p of sp.profiles) {
        for (const s of p.samples) lines.push(`${d.stackTable[s.stackIndex]!.locationIndices.map(name).join(';')} ${s.values.join(',')}`);
      }
    }
  }
  return lines.sort();
}

/** A resource's attributes as a plain record. */
export function resourceAttributes(request: ExportProfilesServiceRequest, index = 0): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of request.resourceProfiles[index]?.resource?.attributes ?? []) out[kv.key] = String(kv.value?.value.value ?? '');
  return out;
}

/** Every resource of every request: its attributes and its stacks, in arrival order. */
export function resourcesOf(requests: readonly ExportProfilesServiceRequest[]): { attributes: Record<string, string>; stacks: string[] }[] {
  return requests.flatMap((r) => r.resourceProfiles.map((_, i) => ({ attributes: resourceAttributes(r, i), stacks: otlpStacks(r, i) })));
}
