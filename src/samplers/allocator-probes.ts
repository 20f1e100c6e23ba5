/**
 * Where an allocator's entry points are in one ELF file, as uprobe targets
 * for bpf/memory.bpf.c: glibc's (malloc, calloc, realloc, free,
 * posix_memalign, aligned_alloc, memalign, valloc, mmap, munmap), jemalloc's
 * (je_ prefixed, mallocx/rallocx/sdallocx) and gperftools tcmalloc's (tc_),
 * found by symbol, so a binary that links tcmalloc statically (Envoy) is
 * probed in its own file.
 */
import { ElfFile } from '../elf/elf-file.js';
import { PT_LOAD } from '../elf/elf-types.js';
import { cheapProbeOffset } from './probe-site.js';

/** The memory object's programs: what runs at a function's entry and at its return. */
export interface AllocatorHooks {
  readonly enter: string;
  readonly exit?: string;
}

const malloc: AllocatorHooks = { enter: 'malloc_enter', exit: 'alloc_return' };
const calloc: AllocatorHooks = { enter: 'calloc_enter', exit: 'alloc_return' };
const realloc: AllocatorHooks = { enter: 'realloc_enter', exit: 'alloc_return' };
const memalign: AllocatorHooks = { enter: 'memalign_enter', exit: 'alloc_return' };
const posixMemalign: AllocatorHooks = { enter: 'posix_memalign_enter', exit: 'posix_memalign_return' };
const mmap: AllocatorHooks = { enter: 'mmap_enter', exit: 'alloc_return' };
const free: AllocatorHooks = { enter: 'free_enter' };

/** The C allocation API, under its plain name and jemalloc's and tcmalloc's prefixes. */
const C_API: Readonly<Record<string, AllocatorHooks>> = {
  malloc, valloc: malloc, calloc, realloc, aligned_alloc: memalign, memalign, posix_memalign: posixMemalign, free, cfree: free,
};

/** Functions probed by name; a file is an allocator when it defines one of ALLOCATOR_MARKERS. */
const FUNCTIONS: Readonly<Record<string, AllocatorHooks>> = {
  ...C_API,
  ...Object.fromEntries(Object.entries(C_API).flatMap(([n, h]) => [[`je_${n}`, h], [`tc_${n}`, h]])),
  mmap, mmap64: mmap, munmap: free,
  // jemalloc's non-standard API: (size, flags), (ptr, size, flags), (ptr, [size,] flags)
  mallocx: malloc, je_mallocx: malloc, rallocx: realloc, je_rallocx: realloc,
  dallocx: free, je_dallocx: free, sdallocx: free, je_sdallocx: free,
  // gperftools' operator new/delete entry points
  tc_new: malloc, tc_newarray: malloc, tc_new_nothrow: malloc, tc_newarray_nothrow: malloc,
  tc_delete: free, tc_deletearray: free, tc_delete_nothrow: free, tc_deletearray_nothrow: free,
};

/**
 * operator new and delete, probed only in a file that is an allocator
 * itself (tcmalloc's own): elsewhere (libstdc++) they call malloc and free,
 * which are probed already.
 */
const CXX_OPERATORS: Readonly<Record<string, AllocatorHooks>> = {
  _Znwm: malloc, _Znam: malloc, _ZnwmRKSt9nothrow_t: malloc, _ZnamRKSt9nothrow_t: malloc,
  _ZdlPv: free, _ZdaPv: free, _ZdlPvm: free, _ZdaPvm: free,
};

/** Symbols that make a file an allocator; mmap/munmap alone do not (every libc has them). */
const ALLOCATOR_MARKERS = ['malloc', 'je_malloc', 'tc_malloc', 'mallocx'];

/** One uprobe to attach: a program at a file offset. */
export interface AllocatorProbe {
  readonly symbol: string;
  readonly program: string;
  readonly retprobe: boolean;
  /**
   * File offset of the probe: the function's first instruction, or for a
   * release function past a flag-only opening (see cheapProbeOffset).
   */
  readonly offset: number;
}

/**
 * The probes for `path` (read through `via` when given): empty when the file
 * defines no allocator. Exported symbols are read, or for a static binary its
 * .symtab. Aliases at one address (malloc, tc_malloc) are probed
 * once; IFUNC resolvers are not functions to probe.
 */
export function findAllocatorProbes(path: string, via?: string): AllocatorProbe[] {
  const elf = ElfFile.open(path, via);
  try {
    const byName = new Map<string, bigint>();
    // An allocator that replaces malloc exports it (shared libraries bind to it), so the
    // small .dynsym is enough; .symtab (node's has 78k symbols) only for static binaries.
    const dynamic = elf.symbols('dynsym');
    for (const s of dynamic.length > 0 ? dynamic : elf.symbols('symtab')) {
      if (s.kind === 'ifunc' || byName.has(s.name)) continue;
      if (s.name in FUNCTIONS || s.name in CXX_OPERATORS) byName.set(s.name, s.value);
    }
    if (!ALLOCATOR_MARKERS.some((m) => byName.has(m))) return [];
    const segments = elf.loadSegments;
    const probes: AllocatorProbe[] = [];
    const seen = new Set<number>();
    for (const [name, value] of byName) {
      const hooks = FUNCTIONS[name] ?? CXX_OPERATORS[name];
      const seg = segments.find((p) => p.type === PT_LOAD && value >= p.vaddr && value < p.vaddr + p.memSize);
      if (hooks === undefined || seg === undefined) continue;
      const offset = Number(value - seg.vaddr) + seg.offset;
      if (seen.has(offset)) continue;
      seen.add(offset);
      if (hooks.exit !== undefined) {
        // A return probe reads the return address at the entry's stack pointer: both stay at the entry.
        // It is attached first, so that no call the entry probe sees goes without its return.
        probes.push({ symbol: name, program: hooks.exit, retprobe: true, offset });
        probes.push({ symbol: name, program: hooks.enter, retprobe: false, offset });
        continue;
      }
      const head = elf.read(offset, Math.min(32, Math.max(0, seg.offset + seg.fileSize - offset)));
      probes.push({ symbol: name, program: hooks.enter, retprobe: false, offset: offset + cheapProbeOffset(head, hooks === free) });
    }
    return probes;
  } finally {
    elf.close();
  }
}
