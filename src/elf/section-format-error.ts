/**
 * The one error every file parser throws for bytes that do not follow the
 * format: it names the file and the part of it (a section, the headers)
 * that is wrong, so a crafted or damaged binary costs only what was read
 * from that part and the message says where to look.
 */

/** Malformed bytes in `section` of `file` (file undefined while only the section's bytes are known). */
export class SectionFormatError extends Error {
  override readonly name = 'SectionFormatError';

  constructor(
    /** `.eh_frame`, `.gopclntab`, `section headers`, ... */
    readonly section: string,
    /** What is wrong, without the file and section. */
    readonly reason: string,
    readonly file?: string,
    options?: { cause?: unknown },
  ) {
    super(file === undefined ? `reading ${section}: ${reason}` : `reading elf ${file}: ${section}: ${reason}`, options);
  }

  /** The same error, naming `file` (kept when one is named already). */
  inFile(file: string): SectionFormatError {
    return this.file !== undefined ? this : new SectionFormatError(this.section, this.reason, file, { cause: this.cause });
  }
}

/**
 * Runs `parse` on `section` of `file`; whatever it throws comes out as a
 * SectionFormatError naming both. A raw RangeError or TypeError (a bounds
 * check a parser missed) is wrapped too, kept as `cause`: it is this file's
 * problem, never the caller's, and the fuzz tests look for such causes.
 */
export function parseSection<T>(file: string, section: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw asSectionError(err, section, file);
  }
}

/** The section of a short read of the file itself: whatever was being parsed takes the blame. */
export const FILE_CONTENTS = 'file contents';

/** `err` as a SectionFormatError of `section` in `file`. */
export function asSectionError(err: unknown, section: string, file: string): SectionFormatError {
  if (err instanceof SectionFormatError && err.section === FILE_CONTENTS) return new SectionFormatError(section, err.reason, file);
  if (err instanceof SectionFormatError) return err.inFile(file);
  const reason = err instanceof Error ? err.message : String(err);
  const raw = err instanceof RangeError || err instanceof TypeError;
  return new SectionFormatError(section, reason, file, raw ? { cause: err } : {});
}

/** Throws a SectionFormatError of `section` unless `ok`. */
export function check(ok: boolean, section: string, reason: () => string): asserts ok {
  if (!ok) throw new SectionFormatError(section, reason());
}
