/**
 * Several received OTLP requests as one: their resources side by side over
 * one dictionary holding each request's entries once (strings, attributes,
 * mappings, functions, locations, stacks and links deduplicated by value),
 * every index rewritten to the merged tables. What an index names is
 * unchanged; only its number moves. The inputs are left as they are. This is what lets the receiver forward
 * a thousand small requests a second as a few large ones.
 */
import { create, toBinary } from '@bufbuild/protobuf';
import type { ExportProfilesServiceRequest } from '../gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';
import { ExportProfilesServiceRequestSchema } from '../gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';
import { AnyValueSchema } from '../gen/opentelemetry/proto/common/v1/common_pb.js';
import {
  FunctionSchema, KeyValueAndUnitSchema, LinkSchema, LocationSchema, MappingSchema, ProfilesDictionarySchema, StackSchema,
} from '../gen/opentelemetry/proto/profiles/v1development/profiles_pb.js';
import type { ProfilesDictionary } from '../gen/opentelemetry/proto/profiles/v1development/profiles_pb.js';

/** Interns entries of one table by a key of their (already remapped) content; index 0 stays the zero entry. */
function table<T>(zero: T, zeroKey?: string): { rows: T[]; add(key: string, make: () => T): number } {
  const rows = [zero];
  const ids = new Map<string, number>(zeroKey === undefined ? [] : [[zeroKey, 0]]);
  return {
    rows,
    add(key, make) {
      const known = ids.get(key);
      if (known !== undefined) return known;
      rows.push(make());
      ids.set(key, rows.length - 1);
      return rows.length - 1;
    },
  };
}

/** Merges validated requests (indices in range) into one. */
export function mergeOtlpRequests(requests: readonly ExportProfilesServiceRequest[]): ExportProfilesServiceRequest {
  if (requests.length === 1) return requests[0]!;
  const strings = table('', '');
  const attributes = table(create(KeyValueAndUnitSchema));
  const mappings = table(create(MappingSchema));
  const functions = table(create(FunctionSchema));
  const locations = table(create(LocationSchema));
  const stacks = table(create(StackSchema));
  const links = table(create(LinkSchema));
  const out = create(ExportProfilesServiceRequestSchema);

  for (const request of requests) {
    const d: ProfilesDictionary = request.dictionary ?? create(ProfilesDictionarySchema);
    const s = d.stringTable.map((v) => strings.add(v, () => v));
    const str = (i: number): number => s[i] ?? 0;
    const a = d.attributeTable.map((kv, i) => (i === 0 ? 0 : attributes.add(
      `${str(kv.keyStrindex)}\0${str(kv.unitStrindex)}\0${kv.value ? toBinary(AnyValueSchema, kv.value).join(',') : ''}`,
      () => create(KeyValueAndUnitSchema, { keyStrindex: str(kv.keyStrindex), unitStrindex: str(kv.unitStrindex), value: kv.value }),
    )));
    const attrs = (list: readonly number[]): number[] => list.map((i) => a[i] ?? 0);
    const m = d.mappingTable.map((x, i) => (i === 0 ? 0 : mappings.add(
      `${x.memoryStart}\0${x.memoryLimit}\0${x.fileOffset}\0${str(x.filenameStrindex)}\0${attrs(x.attributeIndices).join(',')}`,
      () => create(MappingSchema, { memoryStart: x.memoryStart, memoryLimit: x.memoryLimit, fileOffset: x.fileOffset, filenameStrindex: str(x.filenameStrindex), attributeIndices: attrs(x.attributeIndices) }),
    )));
    const f = d.functionTable.map((x, i) => (i === 0 ? 0 : functions.add(
      `${str(x.nameStrindex)}\0${str(x.systemNameStrindex)}\0${str(x.filenameStrindex)}\0${x.startLine}`,
      () => create(FunctionSchema, { nameStrindex: str(x.nameStrindex), systemNameStrindex: str(x.systemNameStrindex), filenameStrindex: str(x.filenameStrindex), startLine: x.startLine }),
    )));
    const l = d.locationTable.map((x, i) => {
      if (i === 0) return 0;
      const lines = x.lines.map((ln) => ({ functionIndex: f[ln.functionIndex] ?? 0, line: ln.line, column: ln.column }));
      return locations.add(
        `${m[x.mappingIndex] ?? 0}\0${x.address}\0${lines.map((ln) => `${ln.functionIndex}:${ln.line}:${ln.column}`).join(',')}\0${attrs(x.attributeIndices).join(',')}`,
        () => create(LocationSchema, { mappingIndex: m[x.mappingIndex] ?? 0, address: x.address, lines, attributeIndices: attrs(x.attributeIndices) }),
      );
    });
    const st = d.stackTable.map((x, i) => {
      if (i === 0) return 0;
      const locationIndices = x.locationIndices.map((j) => l[j] ?? 0);
      return stacks.add(locationIndices.join(','), () => create(StackSchema, { locationIndices }));
    });
    const k = d.linkTable.map((x, i) => (i === 0 ? 0 : links.add(
      `${Buffer.from(x.traceId).toString('hex')}\0${Buffer.from(x.spanId).toString('hex')}`,
      () => create(LinkSchema, { traceId: x.traceId, spanId: x.spanId }),
    )));
    // New messages, not edits: the request is shared with the other sinks.
    for (const rp of request.resourceProfiles) {
      out.resourceProfiles.push({
        ...rp,
        scopeProfiles: rp.scopeProfiles.map((sp) => ({
          ...sp,
          profiles: sp.profiles.map((p) => ({
            ...p,
            sampleType: p.sampleType && { ...p.sampleType, typeStrindex: str(p.sampleType.typeStrindex), unitStrindex: str(p.sampleType.unitStrindex) },
            periodType: p.periodType && { ...p.periodType, typeStrindex: str(p.periodType.typeStrindex), unitStrindex: str(p.periodType.unitStrindex) },
            attributeIndices: attrs(p.attributeIndices),
            samples: p.samples.map((sample) => ({
              ...sample,
              stackIndex: st[sample.stackIndex] ?? 0,
              attributeIndices: attrs(sample.attributeIndices),
              linkIndex: k[sample.linkIndex] ?? 0,
            })),
          })),
        })),
      });
    }
  }
  out.dictionary = create(ProfilesDictionarySchema, {
    stringTable: strings.rows, attributeTable: attributes.rows, mappingTable: mappings.rows, functionTable: functions.rows,
    locationTable: locations.rows, stackTable: stacks.rows, linkTable: links.rows,
  });
  return out;
}
