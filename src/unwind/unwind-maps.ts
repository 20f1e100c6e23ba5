/**
 * The BPF side of the unwind tables (bpf/unwinder.h): the three maps the
 * kernel walker reads and the byte layouts of their values.
 */
import { MapType, openOwnedMap, toResourceLimitError, type BpfMap, type BpfObject, type OwnedBpfMap } from '../kernel/index.js';
import { UNWIND_ROW_SIZE } from './unwind-table-codec.js';
import { PYTHON_PROC_SIZE } from './python-layout.js';

/** UNWIND_MAX_MAPPINGS: mapping entries per process. */
export const UNWIND_MAX_MAPPINGS = 64;
/** UNWIND_MAX_TABLE_ROWS: the walker's binary search covers at most this many rows per file. */
export const UNWIND_MAX_TABLE_ROWS = 1 << 24;
/** UNWIND_ROWS_PER_CHUNK: rows per unwind_rows value; a table starts on a chunk boundary. */
export const UNWIND_ROWS_PER_CHUNK = 64;
/** sizeof(struct unwind_mapping). */
export const UNWIND_MAPPING_SIZE = 32;
/** sizeof(struct unwind_proc). */
export const UNWIND_PROC_SIZE = 8 + UNWIND_MAX_MAPPINGS * UNWIND_MAPPING_SIZE;

/** The walker's maps: rows of every table, table ranges, per-process mappings. */
export interface UnwindMaps {
  /** unwind_rows: u32 chunk index → struct unwind_chunk (64 rows). */
  readonly rows: BpfMap;
  /** unwind_tables: u32 table id → struct unwind_range {first_row, row_count}. */
  readonly tables: BpfMap;
  /** unwind_procs: u32 tgid → struct unwind_proc. */
  readonly procs: BpfMap;
}

/** The unwind maps of a loaded sampler object (oncpu or offcpu). */
export function unwindMapsOf(o: BpfObject): UnwindMaps {
  return { rows: o.map('unwind_rows'), tables: o.map('unwind_tables'), procs: o.map('unwind_procs') };
}

/** Entries of the walker's maps; each has a default. */
export interface UnwindMapSizes {
  /** 64-row (1 KiB) chunks of rows shared by all tables; default 16384 (16 MiB, 1 Mi rows). */
  readonly rowChunks?: number;
  /** Distinct files with a table; default 4096. */
  readonly tables?: number;
  /** Processes with mapping entries (2 KiB each); default 1024. */
  readonly procs?: number;
}

/** Default UnwindMapSizes. */
export const DEFAULT_UNWIND_MAP_SIZES: Required<UnwindMapSizes> = { rowChunks: 1 << 14, tables: 4096, procs: 1024 };

/** unwind_asks' size: 4096 tgids between two reads (16-byte records). */
export const UNWIND_ASKS_BYTES = 64 * 1024;

/** Walker maps owned by user space, shared by every sampler that walks with them. */
export interface UnwindMapSet extends UnwindMaps {
  /** unwind_asks: a ring buffer of u32 tgids sampled without tables. */
  readonly asks: BpfMap;
  /** unwind_notices: the same tgids, for the exec watcher thread (ExecWatcherThreadOptions.sampled). */
  readonly notices: BpfMap;
  /** unwind_asked: u32 slot (tgid % 4096) → struct unwind_asked_slot, the tgid asked for last and when. */
  readonly asked: BpfMap;
  /** python_procs: u32 tgid → struct python_proc (bpf/python.h), the Python walker's per-process settings. */
  readonly pythonProcs: BpfMap;
  /** Bytes of kernel memory the three maps hold (arrays and this hash are preallocated). */
  readonly bytes: number;
  /**
   * Makes a sampler object, before load, use these maps instead of its own;
   * `python` false for an object without the Python walker (no python_procs).
   */
  shareWith(o: BpfObject, python?: boolean): void;
  close(): void;
}

/**
 * Creates the three walker maps outside any object, so the on- and off-CPU
 * samplers read the same tables (built and written once) and the tables
 * survive a sampler being restarted. Throws ResourceLimitError when the
 * kernel will not give them the memory (ENOMEM, E2BIG, EPERM), so callers
 * can fall back to frame pointers for that reason alone.
 */
export function createUnwindMapSet(sizes: UnwindMapSizes = {}): UnwindMapSet {
  const s = { ...DEFAULT_UNWIND_MAP_SIZES, ...sizes };
  const owned: OwnedBpfMap[] = [];
  const make = (name: string, type: number, valueSize: number, maxEntries: number): OwnedBpfMap => {
    const m = openOwnedMap({ type, name, keySize: 4, valueSize, maxEntries });
    owned.push(m);
    return m;
  };
  try {
    const rows = make('unwind_rows', MapType.array, UNWIND_ROWS_PER_CHUNK * UNWIND_ROW_SIZE, s.rowChunks);
    const tables = make('unwind_tables', MapType.array, 8, s.tables);
    const procs = make('unwind_procs', MapType.hash, UNWIND_PROC_SIZE, s.procs);
    // what the programs ask for, and when they last did (one ask per tgid a second)
    const asks = openOwnedMap({ type: MapType.ringbuf, name: 'unwind_asks', keySize: 0, valueSize: 0, maxEntries: UNWIND_ASKS_BYTES });
    owned.push(asks);
    const notices = openOwnedMap({ type: MapType.ringbuf, name: 'unwind_notices', keySize: 0, valueSize: 0, maxEntries: UNWIND_ASKS_BYTES });
    owned.push(notices);
    // struct unwind_asked_slot: an array, lock-free (see bpf/unwinder.h)
    const asked = make('unwind_asked', MapType.array, 16, 4096);
    const pythonProcs = make('python_procs', MapType.hash, PYTHON_PROC_SIZE, s.procs);
    const bytes = rows.maxEntries * rows.valueSize + tables.maxEntries * tables.valueSize + procs.maxEntries * procs.valueSize +
      2 * UNWIND_ASKS_BYTES + asked.maxEntries * asked.valueSize + pythonProcs.maxEntries * pythonProcs.valueSize;
    return {
      rows, tables, procs, asks, notices, asked, pythonProcs, bytes,
      shareWith(o, python = true) {
        o.reuseMap('unwind_rows', rows);
        o.reuseMap('unwind_tables', tables);
        o.reuseMap('unwind_procs', procs);
        o.reuseMap('unwind_asks', asks);
        o.reuseMap('unwind_notices', notices);
        o.reuseMap('unwind_asked', asked);
        if (python) o.reuseMap('python_procs', pythonProcs);
      },
      close() {
        for (const m of owned) m.close();
      },
    };
  } catch (err) {
    for (const m of owned) m.close();
    throw toResourceLimitError('creating the .eh_frame walker maps', err);
  }
}

/** One struct unwind_mapping: runtime [start, end), bias = runtime - file vaddr. */
export interface KernelUnwindMapping {
  readonly start: bigint;
  readonly end: bigint;
  readonly bias: bigint;
  readonly tableId: number;
}

/** Encodes struct unwind_proc from mappings sorted by start (at most UNWIND_MAX_MAPPINGS). */
export function encodeUnwindProc(mappings: readonly KernelUnwindMapping[]): Buffer {
  if (mappings.length > UNWIND_MAX_MAPPINGS) {
    throw new Error(`encoding unwind mappings: ${mappings.length} entries, the kernel holds ${UNWIND_MAX_MAPPINGS}`);
  }
  const buf = Buffer.alloc(UNWIND_PROC_SIZE);
  buf.writeUInt32LE(mappings.length, 0);
  mappings.forEach((m, i) => {
    const at = 8 + i * UNWIND_MAPPING_SIZE;
    buf.writeBigUInt64LE(m.start, at);
    buf.writeBigUInt64LE(m.end, at + 8);
    buf.writeBigUInt64LE(BigInt.asUintN(64, m.bias), at + 16);
    buf.writeUInt32LE(m.tableId, at + 24);
  });
  return buf;
}

/** Encodes struct unwind_range. */
export function encodeUnwindRange(firstRow: number, rowCount: number): Buffer {
  const buf = Buffer.alloc(8);
  buf.writeUInt32LE(firstRow, 0);
  buf.writeUInt32LE(rowCount, 4);
  return buf;
}

/** A u32 map key. */
export function u32Key(n: number): Buffer {
  const buf = Buffer.alloc(4);
  buf.writeUInt32LE(n, 0);
  return buf;
}
