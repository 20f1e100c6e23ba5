/**
 * What TLS a target binary carries in its own file, so the network sampler
 * can probe it there: Go's crypto/tls (tls.(*Conn).Write and Read, located
 * through the pclntab, so stripped builds work) or OpenSSL/BoringSSL linked
 * statically (SSL_read, SSL_write defined in the binary, as Envoy links
 * BoringSSL). A shared libssl is found by the collector by its name instead.
 */
import { ElfFile } from '../elf/elf-file.js';
import type { GoTlsSites } from '../samplers/go-tls-sites.js';
import { goStackCheckBranch, returnOffsets } from '../samplers/return-sites.js';
import { isGoElf, readGoPclntab } from './go-pclntab.js';

/** The TLS of one binary: where to probe it, or why it is not. */
export type TlsBinary =
  | { readonly kind: 'go'; readonly sites: GoTlsSites }
  | { readonly kind: 'openssl'; readonly path: string }
  | { readonly kind: 'none'; readonly reason: string };

const GO_WRITE = 'crypto/tls.(*Conn).Write';
const GO_READ = 'crypto/tls.(*Conn).Read';
/** Defined in a binary that links OpenSSL or BoringSSL statically. */
const SSL_FUNCTIONS = ['SSL_read', 'SSL_write'];

/**
 * Looks at the binary `path` (read through `via` when given). Throws
 * "reading elf PATH: …" for a file that is not a readable ELF file.
 */
export function findTlsBinary(path: string, via?: string): TlsBinary {
  const elf = ElfFile.open(path, via);
  try {
    if (isGoElf(elf)) return goSites(elf, path);
    const ssl = elf.symbolValues(SSL_FUNCTIONS);
    if (SSL_FUNCTIONS.every((n) => (ssl.get(n) ?? 0n) !== 0n)) return { kind: 'openssl', path };
    return { kind: 'none', reason: 'neither Go nor a static OpenSSL/BoringSSL' };
  } finally {
    elf.close();
  }
}

function goSites(elf: ElfFile, path: string): TlsBinary {
  if (elf.header.machine !== EM_X86_64) return { kind: 'none', reason: 'a Go binary not built for amd64' };
  const table = readGoPclntab(elf);
  if (table === undefined) return { kind: 'none', reason: 'a Go binary without a pclntab' };
  const goVersion = readGoVersion(elf);
  // Go 1.17 brought the register ABI; 1.16's table format is shared with 1.17, so its build info decides.
  const minor = /^go1\.(\d+)/.exec(goVersion ?? '')?.[1];
  if (table.version === 116 && (minor === undefined || Number(minor) < 17)) {
    return { kind: 'none', reason: `a Go binary built by ${goVersion ?? 'Go 1.16 or 1.17'}, before the register ABI (Go 1.17)` };
  }
  const fns = table.findFunctions(new Set([GO_WRITE, GO_READ]));
  const write = fns.get(GO_WRITE);
  const read = fns.get(GO_READ);
  if (write === undefined || read === undefined) return { kind: 'none', reason: 'a Go binary without crypto/tls' };
  const writeOff = fileOffset(elf, write.entry);
  const readOff = fileOffset(elf, read.entry);
  const writeCode = elf.readVaddr(write.entry, Number(write.end - write.entry));
  const code = elf.readVaddr(read.entry, Number(read.end - read.entry));
  if (writeOff === undefined || readOff === undefined || code === undefined || writeCode === undefined) {
    return { kind: 'none', reason: 'crypto/tls functions outside the file\'s loaded segments' };
  }
  const writeCheck = goStackCheckBranch(writeCode);
  const readCheck = goStackCheckBranch(code);
  if (writeCheck === undefined || readCheck === undefined) return { kind: 'none', reason: 'crypto/tls functions without Go\'s stack check' };
  const readReturns = returnOffsets(code).map((o) => readOff + o);
  if (readReturns.length === 0) return { kind: 'none', reason: `no return instruction in ${GO_READ}` };
  return { kind: 'go', sites: { path, goVersion, write: writeOff + writeCheck, read: readOff + readCheck, readReturns } };
}

const EM_X86_64 = 62;

function fileOffset(elf: ElfFile, vaddr: bigint): number | undefined {
  const seg = elf.loadSegments.find((p) => vaddr >= p.vaddr && vaddr < p.vaddr + BigInt(p.fileSize));
  return seg === undefined ? undefined : Number(vaddr - seg.vaddr) + seg.offset;
}

/**
 * The Go release in `.go.buildinfo` (runtime/debug's build info): Go 1.18+
 * keeps the string inline after the 32-byte header (flag 2 at byte 15),
 * earlier releases a pointer to a string header at byte 16.
 */
function readGoVersion(elf: ElfFile): string | undefined {
  const sec = elf.section('.go.buildinfo');
  if (sec === undefined) return undefined;
  const b = Buffer.from(sec.bytes());
  if (b.length < 32 || b.toString('latin1', 0, 14) !== '\xff Go buildinf:') return undefined;
  if ((b[15]! & 2) !== 0) {
    // a uvarint length, then the bytes
    let len = 0, at = 32;
    for (let shift = 0; at < b.length && shift < 35; shift += 7) {
      const c = b[at++]!;
      len += (c & 0x7f) * 2 ** shift;
      if ((c & 0x80) === 0) break;
    }
    return at + len <= b.length ? b.toString('utf8', at, at + len) : undefined;
  }
  if (b[14] !== 8 || b[15] !== 0) return undefined;
  const header = elf.readVaddr(b.readBigUInt64LE(16), 16);
  if (header === undefined) return undefined;
  const len = Number(header.readBigUInt64LE(8));
  return len > 0 && len < 64 ? elf.readVaddr(header.readBigUInt64LE(0), len)?.toString('utf8') : undefined;
}
