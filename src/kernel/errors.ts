import { constants } from 'node:os';

const errnoNames = new Map<number, string>(
  Object.entries(constants.errno).map(([name, value]) => [value, name]),
);

/** Symbolic name of a positive errno (EPERM, ENOENT, ...); 524 is the kernel's ENOTSUPP. */
export function errnoName(errno: number): string {
  if (errno === 524) return 'ENOTSUPP';
  return errnoNames.get(errno) ?? `errno ${errno}`;
}

/**
 * A libbpf or bpf() failure. `errno` is positive; `log` holds what libbpf
 * printed meanwhile (for a failed load, the verifier log).
 */
export class BpfError extends Error {
  override readonly name = 'BpfError';
  constructor(
    message: string,
    readonly errno: number,
    readonly log: string,
  ) {
    super(message);
  }
}

/**
 * The running kernel lacks a feature; `minimumKernel` is the first release
 * that has it (as cilium/ebpf's UnsupportedFeatureError).
 */
export class UnsupportedFeatureError extends Error {
  override readonly name = 'UnsupportedFeatureError';
  constructor(
    readonly feature: string,
    readonly minimumKernel: string,
    detail?: string,
  ) {
    super(`${feature} not supported: requires linux ${minimumKernel} or newer${detail ? ` (${detail})` : ''}`);
  }
}

/**
 * The kernel would not give a map or program the memory it asked for:
 * ENOMEM (memory cgroup, or RLIMIT_MEMLOCK that libbpf could not raise),
 * E2BIG (larger than the kernel allocates at once), or EPERM, which is what
 * bpf() said for RLIMIT_MEMLOCK before linux 5.11 (and says for missing
 * privileges: the message keeps the cause). Smaller sizes or higher limits
 * help; a caller may fall back to something that needs less.
 */
export class ResourceLimitError extends Error {
  override readonly name = 'ResourceLimitError';
  constructor(
    message: string,
    readonly errno: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const resourceLimitErrnos = new Set(['ENOMEM', 'E2BIG', 'EPERM']);

/**
 * A ResourceLimitError "doing: cause" for a BpfError whose errno says the
 * kernel refused the memory; any other error is returned unchanged.
 */
export function toResourceLimitError(doing: string, err: unknown): unknown {
  if (!(err instanceof BpfError) || !resourceLimitErrnos.has(errnoName(err.errno))) return err;
  return new ResourceLimitError(`${doing}: ${err.message}`, err.errno, { cause: err });
}

/** What the user should change for a given errno, appended to messages. */
export function errnoHint(errno: number): string {
  switch (errnoName(errno)) {
    case 'EPERM':
    case 'EACCES':
      return 'run as root or grant CAP_BPF and CAP_PERFMON';
    case 'ENOMEM':
      return 'lower the map sizes or raise RLIMIT_MEMLOCK';
    case 'E2BIG':
      return 'lower the map sizes';
    default:
      return '';
  }
}

/** Errno carried by an error the native addon threw, if any. */
export function errnoOf(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null && 'errno' in err) {
    const n = (err as { errno: unknown }).errno;
    if (typeof n === 'number') return Math.abs(n);
  }
  return undefined;
}

/**
 * Wraps a native failure as a BpfError "doing: cause: hint", with the log.
 * Errors without an errno (argument misuse) are rethrown unchanged.
 */
export function toBpfError(doing: string, err: unknown, log: string): Error {
  const errno = errnoOf(err);
  if (errno === undefined) return err instanceof Error ? err : new Error(`${doing}: ${String(err)}`);
  const cause = (err as Error).message.replace(/^[^:]*: /, '').toLowerCase();
  // EACCES with a verifier log is a rejected program, not missing privileges
  const rejected = log.includes('BEGIN PROG LOAD LOG');
  const hint = rejected ? 'the verifier rejected the program: fix it as the log below says' : errnoHint(errno);
  const tail = log.trim() ? `\n${lastLines(log, 30)}` : '';
  return new BpfError(`${doing}: ${cause}${hint ? `: ${hint}` : ''}${tail}`, errno, log);
}

function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}
