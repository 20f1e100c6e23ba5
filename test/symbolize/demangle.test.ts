import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { createDemangler } from '../../src/symbolize/demangle.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('demangler cache', () => {
  it('keeps no slice of a symbol table\'s names alive once the table is gone', async () => {
    const d = createDemangler();
    // a large binary's names in one flat string, as a symbol table holds them (16 MiB)
    const parts: string[] = [];
    for (let i = 0; i < 1 << 18; i++) parts.push(`_ZN4shop5orderEv${'x'.repeat(48)}`);
    let blob: string | undefined = parts.join('');
    parts.length = 0;
    let name: string | undefined = blob.slice(0, '_ZN4shop5orderEv'.length);
    expect(d.demangle([name])).toEqual(['shop::order()']);
    gc();
    const held = process.memoryUsage().heapUsed;
    blob = undefined;
    name = undefined;
    // V8 keeps the subject of the last successful RegExp match (RegExp.input): make it another string
    expect(/y/.test('y')).toBe(true);
    // large objects are swept after the collection, concurrently: poll, for up to 10 s under load
    let freed = 0;
    for (let i = 0; i < 100 && freed <= 12 << 20; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 100));
      freed = held - process.memoryUsage().heapUsed;
    }
    // the 16 MiB string is freed: the cache holds its own copy of the name
    expect(freed).toBeGreaterThan(12 << 20);
    expect(d.demangle(['_ZN4shop5orderEv'])).toEqual(['shop::order()']);
    d.close();
  });
});
