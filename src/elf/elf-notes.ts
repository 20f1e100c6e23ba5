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
  const pad = (n: number): number => (n + a - 1) & ~(a - 1);
  const notes: ElfNote[] = [];
  let off = 0;
  while (off + 12 <= buf.length) {
    const nameSize = buf.readUInt32LE(off);
    const descSize = buf.readUInt32LE(off + 4);
    const type = buf.readUInt32LE(off + 8);
    const nameStart = off + 12;
    const descStart = nameStart + pad(nameSize);
    const end = descStart + pad(descSize);
    if (descStart + descSize > buf.length) break;
    // The name includes its NUL terminator; strip it.
    const nameEnd = nameSize > 0 && buf[nameStart + nameSize - 1] === 0 ? nameStart + nameSize - 1 : nameStart + nameSize;
    notes.push({
      name: buf.toString('latin1', nameStart, nameEnd),
      type,
      desc: buf.subarray(descStart, descStart + descSize),
    });
    off = end;
  }
  return notes;
}

/** The GNU build-id among `notes` as lowercase hex, or undefined. */
export function findBuildId(notes: readonly ElfNote[]): string | undefined {
  const note = notes.find((n) => n.name === 'GNU' && n.type === NT_GNU_BUILD_ID && n.desc.length > 0);
  return note?.desc.toString('hex');
}
