/**
 * A ProcessSource over procfs for host (non-Kubernetes) use: every process
 * with an executable mapping, kernel threads excluded, its service taken from
 * its OTEL_SERVICE_NAME. The controller may pass the process table instead.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { ProcessMetadata } from '../../profile/model.js';
import type { ProcessSource } from './process-reporter.js';

/** Options for the procfs source. */
export interface ProcfsProcessSourceOptions {
  /** The host's /proc (ROVER_HOST_PROC_MAPPING when mounted elsewhere). */
  readonly procRoot?: string | undefined;
  /** Further selection; the default keeps every process with an executable. */
  readonly select?: ((process: ProcessMetadata) => boolean) | undefined;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** OTEL_SERVICE_NAME from a NUL-separated environ block. */
export function otelServiceName(environ: string): string | undefined {
  const entry = environ.split('\0').find((e) => e.startsWith('OTEL_SERVICE_NAME='));
  const v = entry?.slice('OTEL_SERVICE_NAME='.length).trim();
  return v === undefined || v === '' ? undefined : v;
}

/** Reads one process; undefined for kernel threads and vanished processes. */
export function readProcfsProcess(procRoot: string, pid: number): ProcessMetadata | undefined {
  const dir = join(procRoot, String(pid));
  let executablePath: string;
  try {
    // Kernel threads have no exe link: reading it fails with ENOENT.
    executablePath = readlinkSync(join(dir, 'exe')).replace(/ \(deleted\)$/, '');
  } catch {
    return undefined;
  }
  const name = read(join(dir, 'comm'))?.trim() ?? '';
  const commandLine = read(join(dir, 'cmdline'))?.split('\0').filter((s) => s !== '').join(' ');
  const service = otelServiceName(read(join(dir, 'environ')) ?? '');
  return {
    pid,
    name,
    executablePath,
    commandLine: commandLine === '' ? undefined : commandLine,
    attributes: service === undefined ? {} : { 'service.name': service },
  };
}

/** Creates the source; each list() rescans procfs. */
export function createProcfsProcessSource(options: ProcfsProcessSourceOptions = {}): ProcessSource {
  const procRoot = options.procRoot ?? '/proc';
  return {
    list() {
      const out: ProcessMetadata[] = [];
      for (const entry of readdirSync(procRoot)) {
        if (!/^\d+$/.test(entry)) continue;
        const meta = readProcfsProcess(procRoot, Number(entry));
        if (meta !== undefined && (options.select?.(meta) ?? true)) out.push(meta);
      }
      return out;
    },
  };
}
