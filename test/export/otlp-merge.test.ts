import { toBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { ExportProfilesServiceRequestSchema } from '../../src/gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';
import { mergeOtlpRequests } from '../../src/export/otlp-merge.js';
import { validateOtlpRequest } from '../../src/receive/otlp-validation.js';
import { buildOtlpRequest, resourcesOf } from '../helpers/build-otlp-request.js';

describe('mergeOtlpRequests', () => {
  it('keeps every resource, stack and value over one deduplicated dictionary, leaving the inputs alone', () => {
    const a = buildOtlpRequest([{ attributes: { 'service.name': 'a', 'process.pid': 1 }, stacks: [{ frames: ['x', 'main'], value: 3, thread: 't1' }, { frames: ['y', 'main'], value: 4 }] }]);
    const b = buildOtlpRequest([
      { attributes: { 'service.name': 'b' }, stacks: [{ frames: ['main'], value: 5 }, { frames: ['y', 'main'], value: 6, thread: 't1' }] },
      { attributes: { 'service.name': 'c' }, sampleType: ['alloc_space', 'bytes'], stacks: [{ frames: ['malloc', 'y', 'main'], value: 7 }] },
    ]);
    const before = [toBinary(ExportProfilesServiceRequestSchema, a), toBinary(ExportProfilesServiceRequestSchema, b)];
    const merged = mergeOtlpRequests([a, b]);
    expect(resourcesOf([merged])).toEqual(resourcesOf([a, b]));
    // Valid by the receiver's own rules, and each function, stack and string once.
    expect(validateOtlpRequest(structuredClone(merged)).rejectedProfiles).toBe(0);
    const d = merged.dictionary!;
    expect(new Set(d.stringTable).size).toBe(d.stringTable.length);
    expect(d.functionTable.map((f) => d.stringTable[f.nameStrindex])).toEqual(['', 'x', 'main', 'y', 'malloc']);
    // b's y sits at another address than a's: another location, so another stack.
    expect(d.stackTable.map((s) => s.locationIndices.length)).toEqual([0, 2, 2, 1, 2, 3]);
    expect(d.attributeTable).toHaveLength(2);
    expect([toBinary(ExportProfilesServiceRequestSchema, a), toBinary(ExportProfilesServiceRequestSchema, b)]).toEqual(before);
  });
});
