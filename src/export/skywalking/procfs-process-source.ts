/**
 * A ProcessSource over procfs for host (non-Kubernetes) use: every process
 * with an executable mapping, kernel threads excluded, its service taken from
 * its OTEL_SERVICE_NAME. The controller may pass the process table instead.
 */
import { createProcReader, type ProcReader } from '../../process/proc-reader.js';
import type { ProcessMetadata } from '../../profile/model.js';
import type { ProcessSource } from './process-reporter.js';

/** Options for the procfs source. */
export interface ProcfsProcessSourceOptions {
  /** The host's /proc (ROVER_HOST_PROC_MAPPING when mounted elsewhere). */
  readonly procRoot?: string | undefined;
  /** Further selection; the default keeps every process with an executable. */
  readonly select?: ((process: ProcessMetadata) => boolean) | undefined;
}

/** OTEL_SERVICE_NAME from a NUL-separated environ block. */
export function otelServiceName(environ: string): string | undefined {
  const entry = environ.split('\0').find((e) => e.startsWith('OTEL_SERVICE_NAME='));
  const v = entry?.slice('OTEL_SERVICE_NAME='.length).trim();
  return v === undefined || v === '' ? undefined : v;
}

/** Reads one process; undefined for kernel threads and vanished processes. */
export function readProcfsProcess(procRoot: string, pid: number): ProcessMetadata | undefined {
  return describe(createProcReader(procRoot), pid);
}

function describe(proc: ProcReader, pid: number): ProcessMetadata | undefined {
  // Kernel threads have no exe link.
  const executablePath = proc.readExe(pid);
  if (executablePath === undefined) return undefined;
  const name = proc.readComm(pid)?.trim() ?? '';
  const commandLine = proc.readCmdline(pid)?.filter((s) => s !== '').join(' ');
  const service = otelServiceName(proc.readEnviron(pid) ?? '');
  return {
    pid,
    name,
    executablePath,
    commandLine: commandLine === '' ? undefined : commandLine,
    attributes: service === undefined ? {} : { 'service.name': service },
  };
}

/** Creates the source; each list() rescans procfs (throws "listing processes in ROOT: cause" when it cannot). */
export function createProcfsProcessSource(options: ProcfsProcessSourceOptions = {}): ProcessSource {
  const proc = createProcReader(options.procRoot ?? '/proc');
  return {
    list() {
      const out: ProcessMetadata[] = [];
      for (const pid of proc.listPids()) {
        const meta = describe(proc, pid);
        if (meta !== undefined && (options.select?.(meta) ?? true)) out.push(meta);
      }
      return out;
    },
  };
}
