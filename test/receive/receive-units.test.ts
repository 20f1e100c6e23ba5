/**
 * The receiver's pure parts: validation, enrichment, conversion to the
 * Profile model, Pyroscope names, the token check and the interval buffer.
 */
import { gzipSync } from 'node:zlib';
import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { LocationSchema } from '../../src/gen/opentelemetry/proto/profiles/v1development/profiles_pb.js';
import { createTokenCheck } from '../../src/receive/bearer-token.js';
import { otlpToProfiles } from '../../src/receive/otlp-to-profiles.js';
import { InvalidRequestError, validateOtlpRequest } from '../../src/receive/otlp-validation.js';
import { parseIngestName } from '../../src/receive/pyroscope-ingest-name.js';
import { profileTypeName, pyroscopeProfileName } from '../../src/profile/pyroscope-names.js';
import { createReceivedAccumulator } from '../../src/receive/received-accumulator.js';
import { createResourceEnricher } from '../../src/receive/resource-enricher.js';
import { decompress } from '../../src/receive/request-body.js';
import { buildOtlpRequest, otlpStacks, resourceAttributes } from '../helpers/build-otlp-request.js';

const request = (): ReturnType<typeof buildOtlpRequest> => buildOtlpRequest([
  { attributes: { 'process.pid': 42, 'service.name': 'mine' }, stacks: [{ frames: ['leaf', 'main'], value: 5, thread: 'w1' }] },
  { attributes: { 'container.id': 'abc' }, sampleType: ['alloc_space', 'bytes'], stacks: [{ frames: ['malloc', 'main'], value: 4096 }] },
]);

describe('validateOtlpRequest', () => {
  it('accepts a well-formed request whole', () => {
    const v = validateOtlpRequest(request());
    expect(v).toMatchObject({ acceptedProfiles: 2, acceptedSamples: 2, rejectedProfiles: 0, errors: [] });
  });

  it.each([
    ['string_table[0] not empty', (r: ReturnType<typeof request>) => { r.dictionary!.stringTable[0] = 'x'; }, 'dictionary.string_table[0] is "x": it must be the empty string'],
    ['string table missing', (r: ReturnType<typeof request>) => { r.dictionary!.stringTable = []; }, 'dictionary.string_table is empty'],
    ['function name index', (r: ReturnType<typeof request>) => { r.dictionary!.functionTable[1]!.nameStrindex = 500; }, 'function_table[1].name_strindex 500 is outside string_table'],
    ['location function index', (r: ReturnType<typeof request>) => { r.dictionary!.locationTable.push(create(LocationSchema, { lines: [{ functionIndex: -1 }] })); }, 'lines[0].function_index -1 is outside function_table'],
    ['stack location index', (r: ReturnType<typeof request>) => { r.dictionary!.stackTable[1]!.locationIndices[0] = 99; }, 'stack_table[1].location_indices[0] 99 is outside location_table'],
    ['attribute key index', (r: ReturnType<typeof request>) => { r.dictionary!.attributeTable[1]!.keyStrindex = 1000; }, 'attribute_table[1].key_strindex 1000 is outside string_table'],
  ])('refuses the whole request when the dictionary is broken: %s', (_name, breakIt, message) => {
    const r = request();
    breakIt(r);
    expect(() => validateOtlpRequest(r)).toThrow(InvalidRequestError);
    expect(() => validateOtlpRequest(r)).toThrow(message);
  });

  it('drops only the broken profile and says which', () => {
    const r = request();
    r.resourceProfiles[1]!.scopeProfiles[0]!.profiles[0]!.samples[0]!.values = [1n, 2n];
    r.resourceProfiles[1]!.scopeProfiles[0]!.profiles[0]!.samples[0]!.timestampsUnixNano = [1n];
    const v = validateOtlpRequest(r);
    expect(v).toMatchObject({ acceptedProfiles: 1, acceptedSamples: 1, rejectedProfiles: 1 });
    expect(v.errors).toEqual(['resource_profiles[1].scope_profiles[0].profiles[0]: samples[0] has 2 values but 1 timestamps: give one value per timestamp, or none']);
    expect(otlpStacks(v.request)).toEqual(['leaf;main 5']);
  });
});

describe('createResourceEnricher', () => {
  it('adds the node attributes by pid, else by container id, never overwriting the producer', () => {
    const asked: string[] = [];
    const enricher = createResourceEnricher({
      describePid: (pid) => { asked.push(`pid ${pid}`); return { 'service.name': 'node-name', 'k8s.pod.name': 'p', 'process.executable.name': 'java' }; },
      describeContainer: (id) => { asked.push(`container ${id}`); return { 'k8s.pod.name': 'q', 'k8s.container.name': 'c' }; },
    });
    const r = request();
    expect(enricher.enrich(r)).toBe(2);
    expect(resourceAttributes(r, 0)).toEqual({ 'process.pid': '42', 'service.name': 'mine', 'k8s.pod.name': 'p', 'process.executable.name': 'java' });
    expect(resourceAttributes(r, 1)).toEqual({ 'container.id': 'abc', 'k8s.pod.name': 'q', 'k8s.container.name': 'c' });
    // A second request of the same producers reads the node once.
    enricher.enrich(request());
    expect(asked).toEqual(['pid 42', 'container abc']);
  });

  it('leaves a resource alone when the node does not know its pid', () => {
    const r = request();
    createResourceEnricher({ describePid: () => undefined, describeContainer: () => undefined }).enrich(r);
    expect(resourceAttributes(r, 0)).toEqual({ 'process.pid': '42', 'service.name': 'mine' });
  });
});

describe('otlpToProfiles', () => {
  it('makes one Profile per received profile, named by its sample type, with thread and inlined frames', () => {
    const r = request();
    // The leaf location carries an inlined function before its own.
    const leaf = r.dictionary!.locationTable[1]!;
    r.dictionary!.stringTable.push('inlined_helper');
    r.dictionary!.functionTable.push({ ...r.dictionary!.functionTable[1]!, nameStrindex: r.dictionary!.stringTable.length - 1, systemNameStrindex: 0 });
    leaf.lines.unshift({ $typeName: leaf.lines[0]!.$typeName, functionIndex: r.dictionary!.functionTable.length - 1, line: 3n, column: 0n });
    const [cpu, mem] = otlpToProfiles(r);
    expect(cpu!.name).toBe('process_cpu');
    expect(cpu!.profile.sampleTypes).toEqual([{ type: 'cpu', unit: 'nanoseconds' }]);
    expect(cpu!.profile.samples).toHaveLength(1);
    const s = cpu!.profile.samples[0]!;
    expect({ pid: s.pid, thread: s.threadName, values: s.values }).toEqual({ pid: 42, thread: 'w1', values: [5] });
    expect(s.frames.map((f) => f.functionName)).toEqual(['inlined_helper', 'leaf', 'main']);
    expect(cpu!.profile.processes.get(42)?.attributes['service.name']).toBe('mine');
    expect(mem!.name).toBe('memory');
    expect(mem!.profile.samples[0]!.values).toEqual([4096]);
  });
});

describe('receiver helpers', () => {
  it('reads legacy /ingest names', () => {
    expect(parseIngestName('shop.alloc_space{env=prod,region=eu}')).toEqual([
      { name: '__name__', value: 'memory' }, { name: 'service_name', value: 'shop' },
      { name: 'env', value: 'prod' }, { name: 'region', value: 'eu' },
    ]);
    expect(parseIngestName('my.app{}')).toEqual([{ name: 'service_name', value: 'my.app' }]);
  });

  it('names a type alike for Pyroscope whether meshprof profiled it, received it over OTLP or got it at /ingest', () => {
    const own = (types: string[]): string => pyroscopeProfileName({ sampleTypes: types.map((type) => ({ type, unit: 'count' })) });
    expect([own(['samples', 'cpu']), own(['off_cpu', 'switches']), own(['alloc_objects', 'alloc_space', 'inuse_objects', 'inuse_space']), own(['page_faults'])])
      .toEqual(['process_cpu', 'off_cpu', 'memory', 'page_faults']);
    for (const type of ['cpu', 'samples', 'off_cpu', 'alloc_space', 'inuse_objects', 'page_faults', 'goroutines', 'contentions', 'mutex_count', 'wall']) {
      const name = profileTypeName(type);
      expect(own([type])).toBe(name);
      expect(parseIngestName(`app.${type}`)[0]).toEqual({ name: '__name__', value: name });
    }
    expect(profileTypeName('my type')).toBe('my_type');
  });

  it('checks bearer tokens, and lets everything in without one', () => {
    const check = createTokenCheck('abc');
    expect([check('Bearer abc'), check('bearer  abc'), check('Bearer abd'), check('Bearer ab'), check(undefined), check('abc')]).toEqual([true, true, false, false, false, false]);
    expect(createTokenCheck(undefined)(undefined)).toBe(true);
  });

  it('stops inflating at the limit', async () => {
    await expect(decompress(gzipSync(Buffer.alloc(1 << 20)), 'gzip', 4096)).rejects.toMatchObject({ status: 413, reason: 'too_large' });
    await expect(decompress(Buffer.from('not gzip'), 'gzip', 4096)).rejects.toMatchObject({ status: 400, reason: 'malformed' });
    expect((await decompress(gzipSync(Buffer.from('ok')), 'gzip', 4096)).toString()).toBe('ok');
  });

  it('merges an interval of received profiles per name and keeps within its bound', () => {
    const acc = createReceivedAccumulator(3);
    const two = otlpToProfiles(request());
    expect(acc.add(two)).toBe(0);
    expect(acc.add(otlpToProfiles(request()))).toBe(1);
    const merged = acc.take();
    expect(merged.map((m) => [m.kind, m.profile.samples.length])).toEqual([['received-process_cpu', 2], ['received-memory', 1]]);
    expect(acc.take()).toEqual([]);
  });
});
