/**
 * Unwind rows in columns of typed arrays, grown by doubling: how the
 * .eh_frame compiler holds one FDE's rows and the merged table without an
 * object or a BigInt per row.
 */
export class UnwindRowColumns {
  /** Rows in use: pc, cfa type, cfa offset, rbp type, rbp offset. */
  count = 0;
  pc: Float64Array;
  cfaType: Uint8Array;
  cfaOffset: Int32Array;
  rbpType: Uint8Array;
  rbpOffset: Int32Array;

  constructor(capacity: number) {
    this.pc = new Float64Array(capacity);
    this.cfaType = new Uint8Array(capacity);
    this.cfaOffset = new Int32Array(capacity);
    this.rbpType = new Uint8Array(capacity);
    this.rbpOffset = new Int32Array(capacity);
  }

  /** Writes row `n` (at most `count`), growing as needed, and makes it the last. */
  setRow(n: number, pc: number, cfaType: number, cfaOffset: number, rbpType: number, rbpOffset: number): void {
    if (n === this.pc.length) this.grow();
    this.pc[n] = pc;
    this.cfaType[n] = cfaType;
    this.cfaOffset[n] = cfaOffset;
    this.rbpType[n] = rbpType;
    this.rbpOffset[n] = rbpOffset;
    this.count = n + 1;
  }

  private grow(): void {
    const size = this.pc.length * 2;
    const pc = new Float64Array(size); pc.set(this.pc); this.pc = pc;
    const ct = new Uint8Array(size); ct.set(this.cfaType); this.cfaType = ct;
    const co = new Int32Array(size); co.set(this.cfaOffset); this.cfaOffset = co;
    const rt = new Uint8Array(size); rt.set(this.rbpType); this.rbpType = rt;
    const ro = new Int32Array(size); ro.set(this.rbpOffset); this.rbpOffset = ro;
  }
}
