/**
 * A small hand-built profile shared by the serializer tests: two processes
 * (one known to the process table, one not), user and kernel frames, an
 * unsymbolized frame, two sample types and mappings with build ids.
 */
import type { Frame, Mapping, Profile, ProfileSample, ProcessMetadata } from '../../src/profile/model.js';

export const APP_MAPPING: Mapping = {
  start: 0x400000n,
  limit: 0x500000n,
  fileOffset: 0n,
  file: '/usr/bin/api-server',
  buildId: 'aabbccddeeff00112233445566778899aabbccdd',
};
export const LIBC_MAPPING: Mapping = {
  start: 0x7f0000000000n,
  limit: 0x7f0000200000n,
  fileOffset: 0x28000n,
  file: '/usr/lib/x86_64-linux-gnu/libc.so.6',
  buildId: '0123456789abcdef0123456789abcdef01234567',
};
export const WORKER_MAPPING: Mapping = {
  start: 0x10000n,
  limit: 0x20000n,
  fileOffset: 0n,
  file: '/opt/worker',
  buildId: undefined,
};

const user = (functionName: string, address: bigint, mapping: Mapping, extra: Partial<Frame> = {}): Frame => ({
  functionName,
  kind: 'native',
  address,
  mapping,
  symbolized: true,
  ...extra,
});
const kernel = (functionName: string, address: bigint): Frame => ({
  functionName,
  kind: 'kernel',
  address,
  mapping: undefined,
  symbolized: true,
});

export const F = {
  main: user('main', 0x401000n, APP_MAPPING, { fileName: 'server.c', line: 10 }),
  handle: user('handle_request', 0x401100n, APP_MAPPING, { fileName: 'server.c', line: 42 }),
  hotA: user('hot_a', 0x401200n, APP_MAPPING, { fileName: 'server.c', line: 77 }),
  hotB: user('hot_b', 0x401300n, APP_MAPPING, { fileName: 'server.c', line: 90 }),
  write: user('__write', 0x7f0000001000n, LIBC_MAPPING, { systemName: '__GI___libc_write' }),
  entry: kernel('entry_SYSCALL_64', 0xffffffff81000100n),
  doSyscall: kernel('do_syscall_64', 0xffffffff81000200n),
  ksysWrite: kernel('ksys_write', 0xffffffff81000300n),
  workerMain: user('worker_main', 0x10100n, WORKER_MAPPING),
  workerHotA: user('hot_a', 0x10200n, WORKER_MAPPING),
  idle: user('idle_loop', 0x10300n, WORKER_MAPPING),
  unknown: { ...user('worker+0x1234', 0x11234n, WORKER_MAPPING), symbolized: false },
} satisfies Record<string, Frame>;

/** Samples take frames root first here for readability; the model stores leaf first. */
const sample = (pid: number, tid: number, threadName: string, rootFirst: Frame[], values: number[]): ProfileSample => ({
  pid,
  tid,
  threadName,
  frames: [...rootFirst].reverse(),
  values,
});

const API: ProcessMetadata = {
  pid: 100,
  name: 'api-server',
  executablePath: '/usr/bin/api-server',
  attributes: {
    'service.name': 'checkout',
    'k8s.pod.name': 'checkout-7d9f',
    'k8s.namespace.name': 'shop',
    'container.id': 'c0ffee',
    'host.name': 'node-1',
  },
};

/** The shared test profile; pid 200 is missing from `processes` on purpose. */
export function buildTestProfile(overrides: Partial<Profile> = {}): Profile {
  return {
    sampleTypes: [
      { type: 'samples', unit: 'count' },
      { type: 'cpu', unit: 'nanoseconds' },
    ],
    periodType: { type: 'cpu', unit: 'nanoseconds' },
    period: 10_000_000,
    startTimeNs: 1_700_000_000_000_000_000n,
    durationNs: 10_000_000_000n,
    samples: [
      sample(100, 101, 'api-http', [F.main, F.handle, F.hotA], [5, 50_000_000]),
      sample(100, 102, 'api-http', [F.main, F.handle, F.hotB], [3, 30_000_000]),
      sample(100, 101, 'api-http', [F.main, F.handle, F.write, F.entry, F.doSyscall, F.ksysWrite], [2, 20_000_000]),
      sample(200, 200, 'batch-job', [F.workerMain, F.workerHotA, F.unknown], [4, 40_000_000]),
      sample(200, 200, 'batch-job', [F.workerMain, F.idle], [1, 0]),
      sample(100, 103, 'api-bg', [F.main, F.handle, F.hotA], [1, 10_000_000]),
    ],
    processes: new Map([[100, API]]),
    drops: { map_full: 3, unwind_failed: 0, kernel_stack_lost: 1 },
    ...overrides,
  };
}
