/**
 * The HPACK decoder against RFC 7541 Appendix C: every example's header
 * list and the dynamic table's size after it, Huffman or not.
 */
import { describe, expect, it } from 'vitest';
import { createHpackDecoder, decodeHuffman, HpackError, huffmanCodes } from '../../src/samplers/hpack.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const fields = (list: [string, string][]): { name: string; value: string }[] => list.map(([name, value]) => ({ name, value }));

const req1 = fields([[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']]);
const req2 = fields([[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com'], ['cache-control', 'no-cache']]);
const req3 = fields([[':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value']]);
const resp1 = fields([[':status', '302'], ['cache-control', 'private'], ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'], ['location', 'https://www.example.com']]);
const resp2 = fields([[':status', '307'], ['cache-control', 'private'], ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'], ['location', 'https://www.example.com']]);
const resp3 = fields([[':status', '200'], ['cache-control', 'private'], ['date', 'Mon, 21 Oct 2013 20:13:22 GMT'], ['location', 'https://www.example.com'],
  ['content-encoding', 'gzip'], ['set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1']]);

describe('HPACK decoder (RFC 7541 Appendix C)', () => {
  it('C.2: literal fields, with and without indexing, and an indexed field', () => {
    const d = createHpackDecoder();
    expect(d.decode(hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'))).toEqual(fields([['custom-key', 'custom-header']]));
    expect(d.tableSize).toBe(55);
    expect(createHpackDecoder().decode(hex('040c 2f73 616d 706c 652f 7061 7468'))).toEqual(fields([[':path', '/sample/path']]));
    const n = createHpackDecoder();
    expect(n.decode(hex('1008 7061 7373 776f 7264 0673 6563 7265 74'))).toEqual(fields([['password', 'secret']]));
    expect(n.tableEntries).toBe(0);
    expect(createHpackDecoder().decode(hex('82'))).toEqual(fields([[':method', 'GET']]));
  });

  it('C.3: requests without Huffman share a dynamic table', () => {
    const d = createHpackDecoder();
    expect(d.decode(hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d'))).toEqual(req1);
    expect(d.tableSize).toBe(57);
    expect(d.decode(hex('8286 84be 5808 6e6f 2d63 6163 6865'))).toEqual(req2);
    expect(d.tableSize).toBe(110);
    expect(d.decode(hex('8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65'))).toEqual(req3);
    expect([d.tableSize, d.tableEntries]).toEqual([164, 3]);
  });

  it('C.4: the same requests with Huffman', () => {
    const d = createHpackDecoder();
    expect(d.decode(hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff'))).toEqual(req1);
    expect(d.decode(hex('8286 84be 5886 a8eb 1064 9cbf'))).toEqual(req2);
    expect(d.decode(hex('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf'))).toEqual(req3);
    expect([d.tableSize, d.tableEntries]).toEqual([164, 3]);
  });

  it('C.5: responses without Huffman evict from a 256-byte table', () => {
    const d = createHpackDecoder(256);
    expect(d.decode(hex(`4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120
      474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d`))).toEqual(resp1);
    expect(d.tableSize).toBe(222);
    expect(d.decode(hex('4803 3330 37c1 c0bf'))).toEqual(resp2);
    expect([d.tableSize, d.tableEntries]).toEqual([222, 4]);
    expect(d.decode(hex(`88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738
      666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31`))).toEqual(resp3);
    expect([d.tableSize, d.tableEntries]).toEqual([215, 3]);
  });

  it('C.6: the same responses with Huffman', () => {
    const d = createHpackDecoder(256);
    expect(d.decode(hex(`4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718
      63c7 8f0b 97c8 e9ae 82ae 43d3`))).toEqual(resp1);
    expect(d.decode(hex('4883 640e ffc1 c0bf'))).toEqual(resp2);
    expect(d.decode(hex(`88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335
      dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07`))).toEqual(resp3);
    expect([d.tableSize, d.tableEntries]).toEqual([215, 3]);
  });

  it('derives the Appendix B codes from their lengths', () => {
    const codes = huffmanCodes();
    expect(codes.length).toBe(257);
    expect(codes[0]).toEqual([0x1ff8, 13]);
    expect(codes[0x20]).toEqual([0x14, 6]);
    expect(codes[0x30]).toEqual([0x0, 5]);
    expect(codes[0x7e]).toEqual([0x1ffd, 13]);
    expect(codes[255]).toEqual([0x3ffffee, 26]);
    expect(codes[256]).toEqual([0x3fffffff, 30]);
  });

  it('rejects what is not HPACK, never returns a wrong field', () => {
    expect(() => createHpackDecoder().decode(hex('be'))).toThrow(HpackError); // index 62, empty table
    expect(() => createHpackDecoder().decode(hex('80'))).toThrow(HpackError); // index 0
    expect(() => createHpackDecoder().decode(hex('400a 6375'))).toThrow(HpackError); // cut string
    expect(() => createHpackDecoder().decode(hex('82 3f e1 1f'))).toThrow(HpackError); // size update after a field
    expect(() => createHpackDecoder().decode(hex('ff ff ff ff ff 0f'))).toThrow(HpackError); // huge integer
    expect(() => decodeHuffman(hex('ff'))).toThrow(HpackError); // 8 bits of padding
    expect(() => decodeHuffman(hex('00'))).toThrow(HpackError); // padding of zeros
  });
});
