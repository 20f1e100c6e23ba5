/**
 * Reads and parses the .eh_frame of an open ELF file: the adapter between
 * ElfFile and the pure byte parsers.
 */
import type { ElfFile } from './elf-file.js';
import { parseEhFrame, type EhFrame } from './eh-frame.js';
import { parseEhFrameHdr, type EhFrameHdr } from './eh-frame-hdr.js';
import { parseSection } from './section-format-error.js';

/**
 * The parsed .eh_frame of `elf`, or undefined when it has none (Go binaries,
 * stripped JIT dumps); throws a SectionFormatError naming the file and
 * section. datarel pointers are resolved against .got, as the
 * x86-64 psABI defines them.
 */
export function readEhFrame(elf: ElfFile): EhFrame | undefined {
  const sec = elf.section('.eh_frame');
  if (sec === undefined || sec.size === 0) return undefined;
  const got = elf.section('.got');
  const text = elf.section('.text');
  return parseSection(elf.path, '.eh_frame', () => parseEhFrame(sec.bytes(), sec.address, { dataRel: got?.address, textRel: text?.address }));
}

/** The parsed .eh_frame_hdr of `elf`, or undefined when it has none; throws a SectionFormatError naming the file and section. */
export function readEhFrameHdr(elf: ElfFile): EhFrameHdr | undefined {
  const sec = elf.section('.eh_frame_hdr');
  if (sec === undefined || sec.size === 0) return undefined;
  return parseSection(elf.path, '.eh_frame_hdr', () => parseEhFrameHdr(sec.bytes(), sec.address));
}
