/**
 * Demangling of C++ (Itanium `_Z`), Rust legacy (`_ZN...17h<hash>E`) and
 * Rust v0 (`_R`) symbol names through binutils' `c++filt`, which implements
 * all three and is kept up to date by the toolchain maintainers.
 */
import { spawnSync } from 'node:child_process';
import { LRUCache } from 'lru-cache';
import { MAX_CXXFILT_NAME, startCxxfiltProcess, type CxxfiltProcess } from './cxxfilt-process.js';

/** Options for {@link createDemangler}. */
export interface DemanglerOptions {
  /** Return names exactly as given (the "keep mangled names" setting). */
  readonly keepMangled?: boolean;
  /** Path of the c++filt binary; default `c++filt` from PATH. */
  readonly cxxfiltPath?: string;
  /** How many demangled names to remember; default 50_000. */
  readonly cacheSize?: number;
  /** How long c++filt may take over one batch, in ms; default 10_000. */
  readonly timeoutMs?: number;
  /**
   * Called when c++filt fails; that batch's names are then returned
   * untouched, and kept so (a name that kills c++filt is not sent again). A
   * kept c++filt that died or hung is replaced at the next batch,
   * MAX_CXXFILT_REPLACEMENTS times in all; after that, or when c++filt
   * cannot be run at all, it is not tried again. Without it the failure is thrown.
   */
  readonly onError?: (error: Error) => void;
}

/** Turns mangled names into display names; see {@link createDemangler}. */
export interface Demangler {
  /** Demangles each name; names that are not mangled come back untouched, in the same order. */
  demangle(names: readonly string[]): string[];
  /** Ends its c++filt and drops the cache; names come back as given afterwards. */
  close(): void;
}

/** How many times a kept c++filt that failed is replaced before names stay mangled for good. */
export const MAX_CXXFILT_REPLACEMENTS = 3;

// Names c++filt may know. Whitespace would make c++filt split the line into words.
const MANGLED = /^_{1,2}[ZR][0-9A-Za-z_$.@]+$/;
// rustc's legacy mangling ends the path with a 17-character hash element.
const RUST_LEGACY = /^_ZN.*17h[0-9a-f]{16}E(?:\..*)?$/;
const RUST_LEGACY_HASH = /::h[0-9a-f]{16}(?=$| \[clone )/;
// v0 names carry crate disambiguators `crate[0123abcd]` that c++filt prints and users do not want.
const RUST_V0_DISAMBIGUATOR = /(?<=[A-Za-z0-9_])\[[0-9a-f]{1,16}\]/g;

/** Whether a symbol name looks like an Itanium or Rust mangled name (one c++filt can take whole). */
export function isMangled(name: string): boolean {
  return name.length <= MAX_CXXFILT_NAME && MANGLED.test(name);
}

/** Removes the Rust-specific noise c++filt leaves in its output. */
export function cleanRustName(mangled: string, demangled: string): string {
  if (mangled.startsWith('_R') || mangled.startsWith('__R')) {
    return demangled.replace(RUST_V0_DISAMBIGUATOR, '');
  }
  if (RUST_LEGACY.test(mangled)) return demangled.replace(RUST_LEGACY_HASH, '');
  return demangled;
}

/**
 * A flat copy of `s`. A name sliced out of a symbol table's names (or out of
 * c++filt's output) keeps that whole string alive in V8; a cache entry must
 * not, or the cache holds megabytes of tables evicted long ago.
 */
function ownString(s: string): string {
  return Buffer.from(s, 'utf8').toString('utf8');
}

/**
 * Creates a demangler that passes the names it has not seen to one
 * `c++filt` it keeps running (CxxfiltProcess), started at the first mangled
 * name, and remembers results in an LRU cache. Where that c++filt cannot be
 * kept (no writable temp directory), one runs per batch instead.
 * Throws "demangling names: ..." when c++filt cannot be run.
 */
export function createDemangler(opts: DemanglerOptions = {}): Demangler {
  const cxxfilt = opts.cxxfiltPath ?? 'c++filt';
  const timeoutMs = opts.timeoutMs ?? 10_000;
  // A hit refreshes recency (get), so hot names survive eviction; has() does not.
  // Bounded by maxSize (one unit a name), not max: lru-cache preallocates
  // `max` slots, ~1 MB and 6 ms of every start for 50k.
  const cache = new LRUCache<string, string>({ maxSize: opts.cacheSize ?? 50_000, sizeCalculation: () => 1 });
  let broken = false;
  // undefined: not started yet; null: cannot be kept, one c++filt per batch.
  let kept: CxxfiltProcess | null | undefined;
  let replaced = 0;

  const runOnce = (names: readonly string[]): string[] => {
    const result = spawnSync(cxxfilt, [], {
      input: names.join('\n') + '\n',
      encoding: 'utf8',
      timeout: timeoutMs,
      maxBuffer: 64 * 1024 * 1024,
    });
    if (result.error !== undefined) throw new Error(`demangling names: ${result.error.message}`);
    if (result.status !== 0) {
      throw new Error(`demangling names: ${cxxfilt} exited with ${String(result.status)}: ${result.stderr.trim()}`);
    }
    const lines = result.stdout.split('\n');
    if (lines.length < names.length) {
      throw new Error(`demangling names: ${cxxfilt} returned ${lines.length} lines for ${names.length} names`);
    }
    return lines.slice(0, names.length);
  };

  const runCxxfilt = (names: readonly string[]): string[] => {
    if (kept === undefined) {
      try {
        kept = startCxxfiltProcess(cxxfilt, timeoutMs);
      } catch {
        // No FIFOs here, or c++filt missing: a run per batch says which, as before.
        kept = null;
      }
    }
    if (kept === null) {
      try {
        return runOnce(names);
      } catch (err) {
        broken = true;
        throw err;
      }
    }
    try {
      return kept.demangleLines(names);
    } catch (err) {
      // It ended itself; a new one at the next batch, a few times (killed, OOM).
      kept = undefined;
      broken = replaced++ >= MAX_CXXFILT_REPLACEMENTS;
      const again = broken ? '; names stay mangled from now on' : '; a new c++filt is tried at the next batch';
      throw new Error(`demangling names: ${(err as Error).message}${again}`);
    }
  };

  return {
    demangle(names) {
      if (opts.keepMangled === true || broken) return [...names];
      const todo = [...new Set(names.filter((n) => isMangled(n) && !cache.has(n)))];
      // Fresh results are kept aside too, so a batch larger than the cache still resolves.
      const fresh = new Map<string, string>();
      if (todo.length > 0) {
        let out: string[];
        try {
          out = runCxxfilt(todo);
        } catch (err) {
          // Kept as they are: one name that kills c++filt must not take every replacement.
          for (const name of todo) cache.set(ownString(name), ownString(name));
          if (opts.onError === undefined) throw err;
          opts.onError(err as Error);
          return [...names];
        }
        todo.forEach((name, i) => {
          const clean = cleanRustName(name, out[i] ?? name);
          fresh.set(name, clean);
          cache.set(ownString(name), ownString(clean));
        });
      }
      return names.map((name) => {
        const done = fresh.get(name);
        if (done !== undefined) return done;
        return cache.get(name) ?? name;
      });
    },
    close() {
      kept?.close();
      kept = null;
      broken = true;
      cache.clear();
    },
  };
}
