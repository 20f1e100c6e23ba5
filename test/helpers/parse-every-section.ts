/**
 * Test helper: runs every file parser the agent has on one ELF file, as the
 * symbolizer and the unwind table builder do, and says what each made of it.
 * The contract under test: a parser returns a result or throws a
 * SectionFormatError naming this file and a section, never anything else
 * (no raw RangeError or TypeError, not even as the wrapped cause).
 */
import { ElfFile } from '../../src/elf/elf-file.js';
import { readEhFrame, readEhFrameHdr } from '../../src/elf/eh-frame-section.js';
import { FILE_CONTENTS, SectionFormatError } from '../../src/elf/section-format-error.js';
import { createElfSymbolTable } from '../../src/symbolize/elf-symbol-table.js';
import { createGoSymbolLookup, readGoPclntab } from '../../src/symbolize/go-pclntab.js';
import { lineTableOf } from '../../src/symbolize/line-table-cache.js';
import { buildEncodedTable } from '../../src/unwind/file-unwind-table.js';
import { buildUnwindTable } from '../../src/unwind/unwind-table.js';

/** What the parsers made of one file: the steps that gave a result, and the clean errors. */
export interface ParseOutcome {
  readonly ok: readonly string[];
  readonly errors: readonly SectionFormatError[];
}

/** Thrown when a parser broke the contract: the message says which step and what it threw. */
export class ParserContractError extends Error {
  override readonly name = 'ParserContractError';
}

/** Addresses to look up: a spread over `[start, end)`. */
function spread(start: bigint, end: bigint, n: number): bigint[] {
  if (end <= start) return [start];
  const step = (end - start) / BigInt(n) || 1n;
  const out: bigint[] = [];
  for (let a = start; a < end && out.length < n; a += step) out.push(a);
  return out;
}

/** Runs every parser on `path`; throws ParserContractError when one throws anything but a clean SectionFormatError. */
export function parseEverySection(path: string): ParseOutcome {
  const ok: string[] = [];
  const errors: SectionFormatError[] = [];
  const step = <T>(name: string, run: () => T): T | undefined => {
    try {
      const r = run();
      ok.push(name);
      return r;
    } catch (err) {
      checkError(path, name, err);
      errors.push(err as SectionFormatError);
      return undefined;
    }
  };
  // Steps that must never throw at all, whatever the bytes.
  const total = <T>(name: string, run: () => T): T => {
    try {
      const r = run();
      ok.push(name);
      return r;
    } catch (err) {
      throw new ParserContractError(`${name} of ${path} threw, and must not: ${describe(err)}`);
    }
  };

  const elf = step('open', () => ElfFile.open(path));
  if (elf === undefined) return { ok, errors };
  try {
    total('build-id', () => elf.buildId());
    total('debuglink', () => elf.debugLink());
    const text = elf.section('.text');
    const textStart = text?.address ?? 0n;
    const textEnd = textStart + BigInt(text?.size ?? 0);
    const symbols = step('symbols', () => createElfSymbolTable(elf));
    if (symbols !== undefined) total('symbol lookups', () => spread(textStart, textEnd, 64).map((a) => symbols.lookup(a)));
    step('symbol values', () => elf.symbolValues(['main', '_PyRuntime', 'Py_Version']));
    step('.eh_frame_hdr', () => readEhFrameHdr(elf));
    const eh = step('.eh_frame', () => readEhFrame(elf));
    if (eh !== undefined) step('unwind rows', () => wrapEhFrame(path, () => buildUnwindTable(eh)));
    step('unwind table', () => buildEncodedTable(elf));
    const pcln = step('.gopclntab', () => readGoPclntab(elf));
    if (pcln !== undefined) {
      for (const a of spread(textStart, textEnd, 256)) step('.gopclntab lookup', () => pcln.lookup(a));
    }
    // The symbol cache's Go hook: lookups fall back, never throw.
    const go = step('go symbols', () => createGoSymbolLookup(elf, { lookup: () => undefined, approximateBytes: 0 }));
    if (go !== undefined) total('go symbol lookups', () => spread(textStart, textEnd, 64).map((a) => go.lookup(a)));
    const lines = step('.debug_line', () => lineTableOf(elf));
    if (lines !== undefined) total('line lookups', () => spread(textStart, textEnd, 64).map((a) => lines.lookup(a)));
  } finally {
    elf.close();
  }
  return { ok, errors };
}

/** buildUnwindTable throws the CFA runner's errors: name the section as the agent's builder does. */
function wrapEhFrame<T>(path: string, run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (err instanceof SectionFormatError || err instanceof RangeError || err instanceof TypeError) throw err;
    throw new SectionFormatError('.eh_frame', (err as Error).message, path);
  }
}

function checkError(path: string, step: string, err: unknown): asserts err is SectionFormatError {
  if (!(err instanceof SectionFormatError)) {
    throw new ParserContractError(`${step} of ${path} threw a ${describe(err)}, not a SectionFormatError`);
  }
  if (err.file !== path || !err.message.includes(path)) {
    throw new ParserContractError(`${step} of ${path}: the error does not name the file: ${err.message}`);
  }
  if (err.section === '' || err.section === FILE_CONTENTS || !err.message.includes(err.section)) {
    throw new ParserContractError(`${step} of ${path}: the error does not name a section: ${err.message}`);
  }
  if (err.cause instanceof RangeError || err.cause instanceof TypeError) {
    throw new ParserContractError(`${step} of ${path}: a bounds check is missing, the parser threw ${describe(err.cause)}`);
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ''}` : String(err);
}
