/**
 * Which processes the kernel walks Python frames of: a process whose
 * mappings hold a supported CPython gets its python_procs entry (where its
 * thread states are, the offsets of its version); one whose CPython cannot
 * be read is said once, with the reason, and keeps its native frames.
 */
import type { BpfMap } from '../kernel/index.js';
import type { Logger } from '../log/logger.js';
import type { ProcMapping } from '../process/proc-maps.js';
import { createPythonDetector, type PythonDetector, type PythonInterpreter } from './python-interpreter.js';
import { encodePythonProc } from './python-layout.js';
import { u32Key } from './unwind-maps.js';

/** See the module comment. */
export interface PythonProcesses {
  /** Looks at a process's mappings (again): writes, rewrites or removes its entry. */
  setProcess(p: { readonly pid: number; readonly mappings: readonly ProcMapping[] }): void;
  removeProcess(pid: number): void;
  /** The interpreter of a process that has (or had, until removed) an entry. */
  interpreter(pid: number): PythonInterpreter | undefined;
  /** Processes with an entry now. */
  readonly count: number;
}

/** Creates the manager of `map` (python_procs). */
export function createPythonProcesses(map: BpfMap, procRoot: string, log?: Logger, detector: PythonDetector = createPythonDetector(procRoot)): PythonProcesses {
  const known = new Map<number, PythonInterpreter>();
  const said = new Set<number>();
  let full = false;
  return {
    setProcess(p) {
      const d = detector.detect(p.pid, p.mappings);
      if (d.kind !== 'supported') {
        if (known.delete(p.pid)) map.delete(u32Key(p.pid));
        if (d.kind === 'unsupported' && !said.has(p.pid)) {
          said.add(p.pid);
          log?.warn(`python frames of pid ${p.pid} not walked: ${d.file}: ${d.reason}; its native frames are kept`);
        }
        return;
      }
      const i = d.interpreter;
      const prev = known.get(p.pid);
      if (prev !== undefined && prev.interpHead === i.interpHead && prev.version === i.version) return;
      try {
        map.update(u32Key(p.pid), encodePythonProc(i.interpHead, i.minor, i.offsets));
        known.set(p.pid, i);
      } catch (err) {
        if (!full) log?.warn(`python frames of pid ${p.pid} not walked: writing python_procs: ${(err as Error).message}`);
        full = true;
      }
    },
    removeProcess(pid) {
      said.delete(pid);
      if (known.delete(pid)) map.delete(u32Key(pid));
    },
    interpreter: (pid) => known.get(pid),
    get count() { return known.size; },
  };
}
