/**
 * CPython's three line-number tables, decoded to "line of the instruction
 * at this byte offset": co_lnotab (3.8, 3.9), the 3.10 co_linetable, and the
 * 3.11+ location table (co_linetable, PEP 626/657 format of
 * Objects/locations.md). Pure functions over the table's bytes.
 */

/** The line of the instruction at `byteOffset`, or `firstLine` when the table has none for it. */
export function pythonLine(minor: number, table: Buffer, firstLine: number, byteOffset: number): number {
  if (minor <= 9) return lnotabLine(table, firstLine, byteOffset);
  if (minor === 10) return linetable310Line(table, firstLine, byteOffset);
  return locationTableLine(table, firstLine, byteOffset);
}

/** 3.8, 3.9: (address delta, signed line delta) byte pairs. */
function lnotabLine(t: Buffer, firstLine: number, offset: number): number {
  let line = firstLine;
  let addr = 0;
  for (let i = 0; i + 1 < t.length; i += 2) {
    addr += t[i]!;
    if (addr > offset) break;
    line += t.readInt8(i + 1);
  }
  return line;
}

/** 3.10: (byte length, signed line delta; -128 = no line) pairs, each a range. */
function linetable310Line(t: Buffer, firstLine: number, offset: number): number {
  let line = firstLine;
  let end = 0;
  for (let i = 0; i + 1 < t.length; i += 2) {
    end += t[i]!;
    const delta = t.readInt8(i + 1);
    if (delta !== -128) line += delta;
    if (offset < end) return delta === -128 ? firstLine : line;
  }
  return line;
}

/** 3.11+: entries of (code, length in code units) headers and varints. */
function locationTableLine(t: Buffer, firstLine: number, offset: number): number {
  const unit = Math.floor(offset / 2);
  let line = firstLine;
  let at = 0;
  let i = 0;
  const varint = (): number => {
    let b = t[i++] ?? 0;
    let v = b & 63;
    let shift = 6;
    while (b & 64 && i < t.length) {
      b = t[i++] ?? 0;
      v |= (b & 63) << shift;
      shift += 6;
    }
    return v;
  };
  const svarint = (): number => {
    const v = varint();
    return v & 1 ? -(v >>> 1) : v >>> 1;
  };
  while (i < t.length) {
    const head = t[i++]!;
    if ((head & 0x80) === 0) break; // not at an entry: a corrupt or misread table
    const code = (head >> 3) & 15;
    const length = (head & 7) + 1;
    let hasLine = true;
    if (code === 15) {
      hasLine = false;
    } else if (code === 14) {
      line += svarint();
      varint(); // end line delta
      varint(); // column + 1
      varint(); // end column + 1
    } else if (code === 13) {
      line += svarint();
    } else if (code >= 10) {
      line += code - 10;
      i += 2; // start and end column
    } else {
      i += 1; // column
    }
    if (unit < at + length) return hasLine ? line : firstLine;
    at += length;
  }
  return line;
}
