/** ELF note records (PT_NOTE segments, SHT_NOTE sections), e.g. the GNU build-id. */

/** One note: owner name, type and descriptor bytes. */
export interface ElfNote {
  readonly name: string;
  readonly type: number;
  readonly desc: Buffer;
}

/** NT_GNU_BUILD_ID: the descriptor is the build-id. */
export const NT_GNU_BUILD_ID = 3;

/**
 * Parses a run of notes. `align` is the segment's alignment: 4 for classic
 * notes, 8 for GNU property notes; anything else is treated as 4. A record
 * cut short ends the run rather than throwing, since a damaged note must not
 * stop symbolization.
 */
export function parseElfNotes(buf: Buffer, align = 4): ElfNote[] {
  const a = align === 8 ? 8 : 4;
  // Arithmetic, not `& ~(a - 1)`: sizes near 2^32 wrap to negative int32s
  // under bitwise operators, and a negative step never leaves the loop.
  const pad = (n: number): number => Math.ceil(n / a) * a;
  const notes: ElfNote[] = [];
  let off = 0;
  while (off + 12 <= buf.length) {
    const nameSize = buf.readUInt32LE(off);
    const descSize = buf.readUInt32LE(off + 4);
    const type = buf.readUInt32LE(off + 8);
    const nameStart = off + 12;
    const descStart = nameStart + pad(nameSize);
    const end = descStart + pad(descSize);
    // A record cut short or with sizes past the segment ends the run.
    if (nameStart + nameSize > buf.length || descStart + descSize > buf.length) break;
    // The name includes its NUL terminator; strip it.
    const nameEnd = nameSize > 0 && buf[nameStart + nameSize - 1] === 0 ? nameStart + nameSize - 1 : nameStart + nameSize;
    notes.push({
      name: buf.toString('latin1', nameStart, nameEnd),
      type,
      desc: buf.subarray(descStart, descStart + descSize),
    });
    // Every record is at least its 12-byte header long, so the loop ends.
    off = Math.max(end, nameStart);
  }
  return notes;
}

/** The GNU build-id among `notes` as lowercase hex, or undefined. */
export function findBuildId(notes: readonly ElfNote[]): string | undefined {
  const note = notes.find((n) => n.name === 'GNU' && n.type === NT_GNU_BUILD_ID && n.desc.length > 0);
  return note?.desc.toString('hex');
}
