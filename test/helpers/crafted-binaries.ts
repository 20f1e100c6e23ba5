/**
 * Recipes for the crafted binaries of issue 20 and for the fuzz tests'
 * mutants: a copy of a real program with a few bytes rewritten inside one
 * region (a section, the ELF header, a header table). Recipes, not committed
 * binaries: they apply to whatever build of the program the host has.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ElfFile } from '../../src/elf/elf-file.js';
import { SHT_NOBITS } from '../../src/elf/elf-types.js';
import { fixtureBinDir } from './compile-fixture.js';
import { fixturesDir } from './repo-root.js';

/** A byte range of a file a mutation is confined to. */
export interface Region {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
}

/** One edit: at `at` (taken modulo the region's size), write `value` as `width` bytes LE, or xor one byte with it. */
export interface Edit {
  readonly at: number;
  readonly kind: 'u8' | 'u32' | 'xor';
  readonly value: number;
}

/** A mutant: edits in one region, optionally the file cut somewhere in it. */
export interface Mutation {
  readonly region: string;
  readonly edits: readonly Edit[];
  /** Cut the file at this offset into the region (modulo its size). */
  readonly cutAt?: number | undefined;
}

/** Sections the parsers read. */
const SECTIONS = [
  '.note.gnu.build-id', '.note.go.buildid', '.gnu_debuglink', '.shstrtab', '.symtab', '.strtab', '.dynsym', '.dynstr',
  '.eh_frame', '.eh_frame_hdr', '.gopclntab', '.data.rel.ro.gopclntab', '.debug_line', '.debug_line_str', '.debug_str',
];

/** The regions of `path` that parsers read: headers, header tables and the sections above that have bytes. */
export function parserRegions(path: string): Region[] {
  const elf = ElfFile.open(path);
  try {
    const h = elf.header;
    const out: Region[] = [
      { name: 'ELF header', offset: 0, size: 64 },
      { name: 'program headers', offset: h.phoff, size: h.phnum * h.phentsize },
      { name: 'section headers', offset: h.shoff, size: h.shnum * h.shentsize },
    ];
    for (const name of SECTIONS) {
      const s = elf.section(name);
      if (s !== undefined && s.type !== SHT_NOBITS && s.size > 0) out.push({ name, offset: s.offset, size: s.size });
    }
    return out.filter((r) => r.size > 0);
  } finally {
    elf.close();
  }
}

/** `original` with `m` applied; throws when the region is not in `regions`. */
export function applyMutation(original: Buffer, regions: readonly Region[], m: Mutation): Buffer {
  const r = regions.find((x) => x.name === m.region);
  if (r === undefined) throw new Error(`no region ${m.region} (have ${regions.map((x) => x.name).join(', ')})`);
  const out = Buffer.from(original);
  for (const e of m.edits) {
    const at = r.offset + (e.at % r.size);
    if (e.kind === 'u8') out[at] = e.value & 0xff;
    else if (e.kind === 'xor') out[at] = (out[at] ?? 0) ^ (e.value & 0xff || 0x80);
    else if (at + 4 <= out.length) out.writeUInt32LE(e.value >>> 0, at);
  }
  return m.cutAt === undefined ? out : out.subarray(0, r.offset + (m.cutAt % r.size));
}

/** A mutation as one line, for messages and the corpus. */
export function describeMutation(m: Mutation): string {
  return JSON.stringify(m);
}

/** Writes `bytes` at `path` as an executable file. */
export function writeProgram(path: string, bytes: Buffer): void {
  writeFileSync(path, bytes);
  chmodSync(path, 0o755);
}

/**
 * Issue 20 reproducer 1: a copy of `source` (/bin/sleep) whose
 * .note.gnu.build-id record starts `f4 ff ff ff 00 00 00 00 03 00 00 00`:
 * namesz 0xfffffff4, descsz 0, type 3. The program still runs.
 */
export function writeBadBuildIdCopy(source: string, out: string): void {
  const bytes = readFileSync(source);
  const note = parserRegions(source).find((r) => r.name === '.note.gnu.build-id');
  if (note === undefined) throw new Error(`${source} has no .note.gnu.build-id`);
  Buffer.from('f4ffffff0000000003000000', 'hex').copy(bytes, note.offset);
  writeProgram(out, bytes);
}

/**
 * Issue 20 reproducer 3: a 30-byte DWARF64 `.debug_line` unit whose length
 * (2^63) runs far past the section: the old parser read zeros past the end
 * as opcodes until it reached it, that is forever.
 */
export function craftedDebugLine(): Buffer {
  const b = Buffer.alloc(30);
  b.writeUInt32LE(0xffffffff, 0); // DWARF64
  b.writeBigUInt64LE(1n << 63n, 4); // unit_length
  b.writeUInt16LE(4, 12); // version
  b.writeBigUInt64LE(6n, 14); // header_length: to the end of the 30 bytes
  b[22] = 1; // minimum_instruction_length
  b[23] = 1; // maximum_operations_per_instruction
  b[24] = 1; // default_is_stmt
  b[25] = 0xfb; // line_base -5
  b[26] = 14; // line_range
  b[27] = 1; // opcode_base: no standard opcodes
  return b; // bytes 28, 29: empty directory and file tables
}

/** A Go program of test/fixtures/lang-go built once into test/fixtures/bin (private caches, GOPATH mode). */
export function buildGoFixture(source: 'main.go' | 'spin/main.go', name: string, stripped: boolean): string {
  const src = join(fixturesDir, 'lang-go', source);
  const out = join(fixtureBinDir, name);
  const flags = stripped ? ['-ldflags=-s -w'] : [];
  const stamp = `${out}.cmd`;
  const command = ['go', 'build', ...flags, src].join(' ');
  if (existsSync(out) && existsSync(stamp) && readFileSync(stamp, 'utf8') === command && statSync(src).mtimeMs <= statSync(out).mtimeMs) return out;
  const work = join(fixtureBinDir, `.go-${randomBytes(4).toString('hex')}`);
  mkdirSync(work, { recursive: true });
  try {
    copyFileSync(src, join(work, 'main.go'));
    const { GOFLAGS: _flags, ...rest } = process.env;
    // The build cache is kept beside the binaries: the Go runtime is compiled once, not per test file.
    const env = { ...rest, GOCACHE: join(fixtureBinDir, '.go-cache'), GOPATH: join(work, 'gopath'), GO111MODULE: 'off', HOME: work };
    execFileSync('go', ['build', ...flags, '-o', join(work, 'out'), 'main.go'], { cwd: work, env, stdio: 'pipe' });
    renameSync(join(work, 'out'), out);
    writeFileSync(stamp, command);
    return out;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Issue 20 reproducer 2: a copy of a Go 1.18+ binary with 8 bytes of
 * `.gopclntab` flipped, the top two bytes of the compilation-unit offset in
 * the `_func` of each of `functions` (four functions, two bytes each). The
 * runtime reads it only to print a traceback's file names (it reads the
 * name offset on every preemption, so that one is left alone), so the
 * program runs as before; the old lookup read past the table ("Offset is
 * outside the bounds of the DataView").
 */
export function writeFlippedPclntabCopy(source: string, out: string, functions: readonly string[]): void {
  const bytes = readFileSync(source);
  const elf = ElfFile.open(source);
  let base: number;
  try {
    const s = elf.section('.gopclntab');
    if (s === undefined) throw new Error(`${source} has no .gopclntab`);
    base = s.offset;
  } finally {
    elf.close();
  }
  const u32 = (off: number): number => bytes.readUInt32LE(base + off);
  const word = (i: number): number => Number(bytes.readBigUInt64LE(base + 8 + i * 8));
  const magic = u32(0);
  if (magic !== 0xfffffff0 && magic !== 0xfffffff1) throw new Error(`${source}: not a Go 1.18+ pclntab (magic 0x${magic.toString(16)})`);
  const nfunc = word(0);
  const funcnameOff = word(3);
  const pclnOff = word(7);
  const found = new Set<string>();
  for (let i = 0; i < nfunc; i++) {
    const f = pclnOff + u32(pclnOff + i * 8 + 4) + 4;
    const nameAt = base + funcnameOff + bytes.readInt32LE(base + f);
    const name = bytes.toString('latin1', nameAt, bytes.indexOf(0, nameAt));
    if (!functions.includes(name)) continue;
    found.add(name);
    bytes[base + f + 28 + 2]! ^= 0xff; // cuOffset
    bytes[base + f + 28 + 3]! ^= 0x7f;
  }
  const missing = functions.filter((n) => !found.has(n));
  if (missing.length > 0) throw new Error(`${source}: no functions ${missing.join(', ')} in .gopclntab`);
  writeProgram(out, bytes);
}
