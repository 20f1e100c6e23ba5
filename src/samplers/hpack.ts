/**
 * HPACK (RFC 7541) header block decoding, for the HTTP/2 header frames the
 * network sampler's kernel side copies: static table, one dynamic table per
 * connection and direction (size updates and eviction as the encoder does
 * them), Huffman string literals. A block that does not decode throws an
 * HpackError; the caller then treats the table as out of step for good,
 * since every later block may refer to what this one would have added.
 */

/** One header field; names as sent (HTTP/2 sends them lower case). */
export interface HeaderField {
  readonly name: string;
  readonly value: string;
}

/** A header block that is not valid HPACK, or refers to what the table does not hold. */
export class HpackError extends Error {
  override readonly name = 'HpackError';
}

/** A decoder of one direction of one connection. */
export interface HpackDecoder {
  /** Decodes one whole header block (HEADERS and CONTINUATION payloads joined); throws HpackError. */
  decode(block: Uint8Array): HeaderField[];
  /** Bytes the dynamic table holds (names, values and 32 per entry, RFC 7541 4.1). */
  readonly tableSize: number;
  /** Entries in the dynamic table. */
  readonly tableEntries: number;
}

/** RFC 7541 Appendix A. */
const STATIC_TABLE: readonly (readonly [string, string])[] = [
  [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'], [':path', '/index.html'],
  [':scheme', 'http'], [':scheme', 'https'], [':status', '200'], [':status', '204'], [':status', '206'],
  [':status', '304'], [':status', '400'], [':status', '404'], [':status', '500'], ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'], ['accept-language', ''], ['accept-ranges', ''], ['accept', ''],
  ['access-control-allow-origin', ''], ['age', ''], ['allow', ''], ['authorization', ''], ['cache-control', ''],
  ['content-disposition', ''], ['content-encoding', ''], ['content-language', ''], ['content-length', ''],
  ['content-location', ''], ['content-range', ''], ['content-type', ''], ['cookie', ''], ['date', ''], ['etag', ''],
  ['expect', ''], ['expires', ''], ['from', ''], ['host', ''], ['if-match', ''], ['if-modified-since', ''],
  ['if-none-match', ''], ['if-range', ''], ['if-unmodified-since', ''], ['last-modified', ''], ['link', ''],
  ['location', ''], ['max-forwards', ''], ['proxy-authenticate', ''], ['proxy-authorization', ''], ['range', ''],
  ['referer', ''], ['refresh', ''], ['retry-after', ''], ['server', ''], ['set-cookie', ''],
  ['strict-transport-security', ''], ['transfer-encoding', ''], ['user-agent', ''], ['vary', ''], ['via', ''],
  ['www-authenticate', ''],
];

/**
 * Code lengths of the Huffman code of RFC 7541 Appendix B, symbols 0-255
 * then EOS. The code is canonical (codes of one length are consecutive, in
 * symbol order), so the lengths alone give the codes.
 */
const HUFFMAN_LENGTHS: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
];

const EOS = 256;

/** The Huffman codes, [code, length] by symbol, from the canonical lengths. */
export function huffmanCodes(): readonly (readonly [number, number])[] {
  const order = HUFFMAN_LENGTHS.map((_, s) => s).sort((a, b) => HUFFMAN_LENGTHS[a]! - HUFFMAN_LENGTHS[b]! || a - b);
  const codes: [number, number][] = [];
  let code = 0;
  let prev = HUFFMAN_LENGTHS[order[0]!]!;
  for (const s of order) {
    const len = HUFFMAN_LENGTHS[s]!;
    code *= 2 ** (len - prev); // lengths reach 30 bits: no 32-bit shifts
    prev = len;
    codes[s] = [code, len];
    code++;
  }
  return codes;
}

/**
 * The decoding trie: node i's children are at trie[2i] (bit 0) and
 * trie[2i+1] (bit 1); a child >= 0 is a node, -1 - symbol a leaf, 0 none
 * (node 0 is the root, never a child).
 */
const TRIE: Int32Array = (() => {
  const codes = huffmanCodes();
  const trie: number[] = [0, 0];
  let nodes = 1;
  codes.forEach(([code, len], sym) => {
    let node = 0;
    for (let b = len - 1; b >= 0; b--) {
      const bit = Math.floor(code / 2 ** b) % 2;
      const slot = node * 2 + bit;
      if (b === 0) {
        trie[slot] = -1 - sym;
      } else {
        if (!trie[slot]) {
          trie[slot] = nodes++;
          trie.push(0, 0);
        }
        node = trie[slot]!;
      }
    }
  });
  return Int32Array.from(trie);
})();

/** Decodes a Huffman-coded string literal (RFC 7541 5.2). */
export function decodeHuffman(bytes: Uint8Array): string {
  const out: number[] = [];
  let node = 0;
  // bits read since the last symbol, and whether they were all ones (valid padding is a prefix of EOS, at most 7 bits)
  let pending = 0;
  let allOnes = true;
  for (const byte of bytes) {
    for (let b = 7; b >= 0; b--) {
      const bit = (byte >> b) & 1;
      const next = TRIE[node * 2 + bit]!;
      pending++;
      allOnes &&= bit === 1;
      if (next < 0) {
        const sym = -1 - next;
        if (sym === EOS) throw new HpackError('huffman string holds EOS');
        out.push(sym);
        node = 0;
        pending = 0;
        allOnes = true;
      } else if (next === 0) {
        throw new HpackError('invalid huffman code');
      } else {
        node = next;
      }
    }
  }
  if (pending > 7 || !allOnes) throw new HpackError('invalid huffman padding');
  return Buffer.from(out).toString('latin1');
}

/** Largest table size or integer accepted: far above any encoder's (SETTINGS_HEADER_TABLE_SIZE is 4096 by default). */
const MAX_INTEGER = 2 ** 28;

/** Creates a decoder whose table starts at maxTableSize bytes (4096, HTTP/2's default). */
export function createHpackDecoder(maxTableSize = 4096): HpackDecoder {
  // newest first, as HPACK numbers them
  const table: HeaderField[] = [];
  let size = 0;
  let max = maxTableSize;

  const evictTo = (limit: number): void => {
    while (size > limit && table.length > 0) {
      const e = table.pop()!;
      size -= e.name.length + e.value.length + 32;
    }
  };
  const entry = (index: number): HeaderField => {
    if (index <= 0) throw new HpackError('index 0');
    if (index <= STATIC_TABLE.length) {
      const [name, value] = STATIC_TABLE[index - 1]!;
      return { name, value };
    }
    const e = table[index - STATIC_TABLE.length - 1];
    if (!e) throw new HpackError(`index ${index} beyond the dynamic table (${table.length} entries)`);
    return e;
  };

  return {
    get tableSize() { return size; },
    get tableEntries() { return table.length; },
    decode(block) {
      let pos = 0;
      const int = (prefixBits: number): number => {
        if (pos >= block.length) throw new HpackError('block ends inside an integer');
        const mask = (1 << prefixBits) - 1;
        let v = block[pos++]! & mask;
        if (v < mask) return v;
        let m = 0;
        for (;;) {
          if (pos >= block.length) throw new HpackError('block ends inside an integer');
          const b = block[pos++]!;
          v += (b & 0x7f) * 2 ** m;
          m += 7;
          if (v > MAX_INTEGER) throw new HpackError('integer too large');
          if ((b & 0x80) === 0) return v;
        }
      };
      const str = (): string => {
        if (pos >= block.length) throw new HpackError('block ends before a string');
        const huffman = (block[pos]! & 0x80) !== 0;
        const len = int(7);
        if (pos + len > block.length) throw new HpackError('block ends inside a string');
        const bytes = block.subarray(pos, pos + len);
        pos += len;
        return huffman ? decodeHuffman(bytes) : Buffer.from(bytes).toString('latin1');
      };
      const fields: HeaderField[] = [];
      let fieldSeen = false;
      while (pos < block.length) {
        const b = block[pos]!;
        if (b & 0x80) {
          // 6.1 indexed field
          fields.push(entry(int(7)));
          fieldSeen = true;
        } else if (b & 0x40) {
          // 6.2.1 literal with incremental indexing
          const idx = int(6);
          const name = idx ? entry(idx).name : str();
          const f = { name, value: str() };
          fields.push(f);
          fieldSeen = true;
          table.unshift(f);
          size += f.name.length + f.value.length + 32;
          evictTo(max); // an entry larger than the table empties it (4.4)
        } else if (b & 0x20) {
          // 6.3 dynamic table size update: only before the first field (4.2)
          if (fieldSeen) throw new HpackError('table size update after a field');
          max = int(5);
          evictTo(max);
        } else {
          // 6.2.2 without indexing, 6.2.3 never indexed: same layout, 4-bit prefix
          const idx = int(4);
          const name = idx ? entry(idx).name : str();
          fields.push({ name, value: str() });
          fieldSeen = true;
        }
      }
      return fields;
    },
  };
}
