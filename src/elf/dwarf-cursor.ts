/**
 * A little-endian read cursor over DWARF-encoded bytes (.eh_frame,
 * .debug_frame, CFA programs). Reads past the end throw, so a truncated
 * section surfaces as one error instead of garbage rows.
 */

/** A position in a Buffer plus the LEB128 and fixed-width readers DWARF needs. */
export class DwarfCursor {
  /** One past the last readable byte: never past the end of `bytes`, whatever a length field said. */
  readonly end: number;

  constructor(
    readonly bytes: Buffer,
    /** Offset of the next byte to read. */
    public pos = 0,
    /** One past the last readable byte (defaults to the end of `bytes`). */
    end = bytes.length,
  ) {
    this.end = Math.min(end, bytes.length);
  }

  /** True when every byte up to `end` has been read. */
  get done(): boolean {
    return this.pos >= this.end;
  }

  private need(n: number): number {
    const at = this.pos;
    // A negative count (a length field read as a step back) is as wrong as one past the end.
    if (!(n >= 0 && at >= 0 && at + n <= this.end)) throw new Error(`reading dwarf: truncated data (need ${n} bytes at offset ${at}, end ${this.end})`);
    this.pos = at + n;
    return at;
  }

  u8(): number {
    return this.bytes.readUInt8(this.need(1));
  }

  s8(): number {
    return this.bytes.readInt8(this.need(1));
  }

  u16(): number {
    return this.bytes.readUInt16LE(this.need(2));
  }

  s16(): number {
    return this.bytes.readInt16LE(this.need(2));
  }

  u32(): number {
    return this.bytes.readUInt32LE(this.need(4));
  }

  s32(): number {
    return this.bytes.readInt32LE(this.need(4));
  }

  u64(): bigint {
    return this.bytes.readBigUInt64LE(this.need(8));
  }

  s64(): bigint {
    return this.bytes.readBigInt64LE(this.need(8));
  }

  /**
   * Unsigned LEB128 as a bigint (addresses may need all 64 bits). Bits past
   * the 64th are dropped, so a run of a million continuation bytes costs a
   * million steps, not a million-bit number.
   */
  ulebBig(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = this.u8();
      if (shift < 64n) result |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if ((b & 0x80) === 0) return result & MASK64;
    }
  }

  /** Signed LEB128 as a bigint (within 64 bits, as ulebBig). */
  slebBig(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = this.u8();
      if (shift < 64n) result |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if ((b & 0x80) === 0) {
        if (shift > 64n) shift = 64n;
        if ((b & 0x40) !== 0 && shift < 64n) result -= 1n << shift;
        return BigInt.asIntN(64, result);
      }
    }
  }

  /** Unsigned LEB128 for small values (registers, factors, lengths); throws above 2^53. */
  uleb(): number {
    // CFA programs are mostly one- and two-byte LEBs: stay in doubles for them.
    const start = this.pos;
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 4; i++) {
      const b = this.u8();
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
    this.pos = start;
    return toSafe(this.ulebBig());
  }

  /** Signed LEB128 for small values (offsets, alignment factors); throws beyond ±2^53. */
  sleb(): number {
    const start = this.pos;
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 4; i++) {
      const b = this.u8();
      result += (b & 0x7f) * scale;
      scale *= 128;
      if ((b & 0x80) === 0) return (b & 0x40) !== 0 ? result - scale : result;
    }
    this.pos = start;
    return toSafe(this.slebBig());
  }

  /** `n` raw bytes as a view (not a copy). */
  take(n: number): Buffer {
    const at = this.need(n);
    return this.bytes.subarray(at, at + n);
  }

  /** A NUL-terminated ASCII string. */
  cstring(): string {
    const nul = this.bytes.indexOf(0, this.pos);
    if (nul < 0 || nul >= this.end) throw new Error(`reading dwarf: unterminated string at offset ${this.pos}`);
    const s = this.bytes.toString('latin1', this.pos, nul);
    this.pos = nul + 1;
    return s;
  }
}

const MASK64 = (1n << 64n) - 1n;

function toSafe(v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new Error(`reading dwarf: leb128 value ${v} does not fit a number`);
  }
  return Number(v);
}
