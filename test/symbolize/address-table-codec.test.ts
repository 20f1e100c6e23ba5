// Address tables through the disk cache's bytes: names as UTF-8 with byte ends, and tables read in place.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openFileDataCache } from '../../src/elf/file-data-cache.js';
import { addressTableFromParts, buildAddressTable } from '../../src/symbolize/address-table.js';
import { createPartsReader, encodeParts, type PartsShape } from '../../src/symbolize/address-table-codec.js';
import { elfSymbolTableFromParts } from '../../src/symbolize/elf-symbol-table.js';

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

// Go's middle dot and a CJK name: their UTF-8 bytes outnumber their UTF-16 units.
const NAMES = ['main.(*T)·Run', 'ascii_function', '関数', 'runtime·morestack'];
const table = () => buildAddressTable(NAMES.map((name, i) => ({ start: 0x1000n + BigInt(i) * 0x100n, end: 0x1000n + BigInt(i) * 0x100n + 0x80n, name, rank: 0 })));

describe('address table bytes', () => {
  it('keeps names as UTF-8 with byte ends, and names every entry back', () => {
    const t = table();
    expect(t.parts.names.byteLength).toBe(Buffer.byteLength(NAMES.join(''), 'utf8'));
    expect(t.parts.nameEnds[NAMES.length - 1]).toBe(t.parts.names.byteLength);
    NAMES.forEach((name, i) => expect(t.lookup(0x1000n + BigInt(i) * 0x100n + 0x10n)).toEqual({ name, start: 0x1000n + BigInt(i) * 0x100n, size: 0x80n }));
    expect(t.lookup(0x1090n)).toBeUndefined();
  });

  it('reads a table back from a cache file as views of the file, at any key length', () => {
    for (const key of ['k', 'build-id:0123456789abcdef', 'file:/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30|debug:none']) {
      const dir = mkdtempSync(join(tmpdir(), 'meshprof-codec-'));
      dirs.push(dir);
      const kind = { suffix: '.sym', magic: 0x54534554, version: 1, what: 'test table' };
      const chunks: Buffer[] = [];
      const shape = encodeParts(table().parts, chunks);
      openFileDataCache(dir, 2 ** 20, kind)!.put(key, { meta: shape, payload: Buffer.concat(chunks) });
      // the writer pads the meta so that the payload starts 8-byte aligned in the file
      const file = readFileSync(join(dir, readdirSync(dir)[0]!));
      expect((file.length - Buffer.concat(chunks).length) % 8).toBe(0);

      const e = openFileDataCache(dir, 2 ** 20, kind)!.get(key)!;
      const parts = createPartsReader(e.payload).read(e.meta as PartsShape)!;
      // no copy: every array is a view of the bytes read from the file
      for (const a of [parts.starts, parts.ends, parts.tags, parts.nameEnds, parts.names]) expect(a.buffer).toBe(e.payload.buffer);
      const back = addressTableFromParts(parts);
      NAMES.forEach((name, i) => expect(back.lookup(0x1000n + BigInt(i) * 0x100n)?.name).toBe(name));
    }
  });

  it('leaves the names in an open cache file, read when looked up, and reads them whole for whoever wants the parts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshprof-codec-'));
    dirs.push(dir);
    const kind = { suffix: '.sym', magic: 0x54534554, version: 1, what: 'test table' };
    const chunks: Buffer[] = [];
    const shape = encodeParts(table().parts, chunks);
    const cache = openFileDataCache(dir, 2 ** 20, kind)!;
    cache.put('k', { meta: shape, payload: Buffer.concat(chunks) });
    const e = cache.open('k')!;
    const parts = createPartsReader(e.payload, e.file, 0).read(shape)!;
    const namesBytes = Buffer.byteLength(NAMES.join(''), 'utf8');
    expect(parts.names).toEqual({ file: e.file, at: e.file.payloadAt + NAMES.length * 24, byteLength: namesBytes });
    // below the bound (256 KiB by default) the names are copied out instead
    const small = createPartsReader(e.payload, e.file).read(shape)!;
    expect(small.names).toBeInstanceOf(Uint8Array);
    expect((small.names as Uint8Array).buffer).not.toBe(e.payload.buffer);
    // the arrays are copies: the payload read can go
    for (const a of [parts.starts, parts.ends, parts.tags, parts.nameEnds]) expect(a.buffer).not.toBe(e.payload.buffer);
    const back = addressTableFromParts(parts);
    expect(back.approximateBytes).toBe(NAMES.length * 24);
    NAMES.forEach((name, i) => expect(back.lookup(0x1000n + BigInt(i) * 0x100n + 0x10n)).toEqual({ name, start: 0x1000n + BigInt(i) * 0x100n, size: 0x80n }));
    expect(Buffer.from(back.parts.names)).toEqual(Buffer.from(table().parts.names));
    // another cache's eviction unlinks the name; the open file still reads
    rmSync(join(dir, readdirSync(dir)[0]!));
    expect(addressTableFromParts(createPartsReader(e.payload, e.file, 0).read(shape)!).lookup(0x1310n)?.name).toBe('runtime·morestack');
  });

  it('reads no name of a file-backed table until one is looked up (a bad descriptor shows any read)', () => {
    const { starts, ends, tags, nameEnds } = table().parts;
    const names = { file: { fd: 2_000_000_000 }, at: 0, byteLength: nameEnds[nameEnds.length - 1]! };
    const symbols = elfSymbolTableFromParts({ starts, ends, tags, nameEnds, names });
    expect(symbols.size).toBe(NAMES.length);
    expect(symbols.approximateBytes).toBe(NAMES.length * 24);
    // a name that cannot be read leaves the frame unnamed, not the batch failed
    expect(symbols.lookup(0x1010n)).toBeUndefined();
    expect(() => symbols.parts).toThrow(/EBADF/);
  });

  it('copies the arrays where the payload is not aligned, with the same result', () => {
    const chunks: Buffer[] = [];
    const shape = encodeParts(table().parts, chunks);
    const shifted = Buffer.alloc(Buffer.concat(chunks).length + 3);
    Buffer.concat(chunks).copy(shifted, 3);
    const parts = createPartsReader(shifted.subarray(3)).read(shape)!;
    expect(parts.starts.buffer).not.toBe(shifted.buffer);
    expect(addressTableFromParts(parts).lookup(0x1210n)?.name).toBe('関数');
  });

  it('keeps two format versions of one entry apart in a shared directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshprof-codec-'));
    dirs.push(dir);
    const v1 = openFileDataCache(dir, 2 ** 20, { suffix: '.sym', magic: 0x54534554, version: 1, what: 'test table' })!;
    const v2 = openFileDataCache(dir, 2 ** 20, { suffix: '.sym', magic: 0x54534554, version: 2, what: 'test table' })!;
    v1.put('k', { meta: 1, payload: Buffer.from('one') });
    v2.put('k', { meta: 2, payload: Buffer.from('two') });
    // neither overwrote the other: an older and a newer agent on one host do not rebuild each other's tables
    expect(readdirSync(dir)).toHaveLength(2);
    expect(v1.get('k')?.payload.toString()).toBe('one');
    expect(v2.get('k')?.payload.toString()).toBe('two');
    expect(v1.counters.corrupt + v2.counters.corrupt).toBe(0);
  });
});
