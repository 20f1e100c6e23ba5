/**
 * Hand-built profiles shaped like what the agent records: two processes
 * (one in a pod), kernel + native frames, mappings with build ids, and an
 * off-CPU profile with switch counts and blocked time.
 */
import type { Frame, Mapping, ProcessMetadata, Profile, ProfileSample } from '../../src/profile/model.js';

export const LIBC: Mapping = {
  start: 0x7f0000000000n,
  limit: 0x7f0000200000n,
  fileOffset: 0x28000n,
  file: '/usr/lib/x86_64-linux-gnu/libc.so.6',
  buildId: 'c289da5071a3399de893d2af81d6a30c62646e1e',
};
export const NGINX: Mapping = {
  start: 0x55550000n,
  limit: 0x55650000n,
  fileOffset: 0n,
  file: '/usr/sbin/nginx',
  buildId: '0a1b2c3d4e5f',
};
export const APP: Mapping = { start: 0x400000n, limit: 0x500000n, fileOffset: 0n, file: '/app/server', buildId: undefined };

const frame = (functionName: string, address: bigint, mapping: Mapping | undefined, kind: Frame['kind'] = 'native'): Frame => ({
  functionName,
  kind,
  address,
  mapping,
  symbolized: true,
});

export const F = {
  schedule: frame('schedule', 0xffffffff81c00010n, undefined, 'kernel'),
  doSysPoll: frame('do_sys_poll', 0xffffffff81400020n, undefined, 'kernel'),
  epollWait: frame('epoll_wait', 0x7f0000031000n, LIBC),
  memcpy: frame('__memmove_avx_unaligned_erms', 0x7f0000045000n, LIBC),
  ngxProcessEvents: frame('ngx_process_events_and_timers', 0x55551000n, NGINX),
  ngxHttpHandler: frame('ngx_http_core_run_phases', 0x55552000n, NGINX),
  ngxMain: frame('main', 0x55550100n, NGINX),
  goHandler: frame('main.handle', 0x401000n, APP, 'go'),
  goMain: frame('main.main', 0x400100n, APP, 'go'),
} as const;

export const NGINX_PROC: ProcessMetadata = {
  pid: 4242,
  name: 'nginx',
  executablePath: '/usr/sbin/nginx',
  attributes: {
    'container.id': 'b7e4c1f0a9d2',
    'k8s.pod.name': 'web-7d9f',
    'k8s.namespace.name': 'shop',
    'k8s.container.name': 'nginx',
    'service.name': 'web',
  },
};
export const APP_PROC: ProcessMetadata = { pid: 777, name: 'server', executablePath: '/app/server', attributes: {} };

const sample = (pid: number, tid: number, threadName: string, frames: Frame[], values: number[]): ProfileSample => ({
  pid,
  tid,
  threadName,
  frames,
  values,
});

/** On-CPU at 99 Hz, 10 s window. */
export function onCpuProfile(): Profile {
  return {
    sampleTypes: [{ type: 'samples', unit: 'count' }],
    periodType: { type: 'cpu', unit: 'nanoseconds' },
    period: 1e9 / 99,
    startTimeNs: 1_700_000_000_000_000_000n,
    durationNs: 10_000_000_000n,
    samples: [
      sample(4242, 4242, 'nginx', [F.schedule, F.doSysPoll, F.epollWait, F.ngxProcessEvents, F.ngxMain], [37]),
      sample(4242, 4243, 'nginx-worker', [F.memcpy, F.ngxHttpHandler, F.ngxProcessEvents, F.ngxMain], [120]),
      sample(777, 780, 'server', [F.goHandler, F.goMain], [55]),
      sample(777, 781, 'gc-worker', [F.memcpy, F.goHandler, F.goMain], [3]),
    ],
    processes: new Map([
      [4242, NGINX_PROC],
      [777, APP_PROC],
    ]),
    drops: {},
  };
}

/** Off-CPU: switch counts and blocked nanoseconds. */
export function offCpuProfile(): Profile {
  return {
    sampleTypes: [
      { type: 'switches', unit: 'count' },
      { type: 'off_cpu', unit: 'nanoseconds' },
    ],
    periodType: { type: 'off_cpu', unit: 'nanoseconds' },
    period: 1,
    startTimeNs: 1_700_000_000_000_000_000n,
    durationNs: 10_000_000_000n,
    samples: [
      sample(4242, 4242, 'nginx', [F.schedule, F.doSysPoll, F.epollWait, F.ngxProcessEvents, F.ngxMain], [12, 9_500_000_000]),
      sample(777, 780, 'server', [F.schedule, F.goHandler, F.goMain], [4, 2_000_000]),
    ],
    processes: new Map([
      [4242, NGINX_PROC],
      [777, APP_PROC],
    ]),
    drops: {},
  };
}

/** Many processes with deep, distinct stacks, to push a request over a size limit. */
export function manyProcessesProfile(processes: number, stacksPerProcess: number): Profile {
  const samples: ProfileSample[] = [];
  const procs = new Map<number, ProcessMetadata>();
  for (let p = 0; p < processes; p++) {
    const pid = 1000 + p;
    procs.set(pid, { pid, name: `worker${p}`, executablePath: `/bin/worker${p}`, attributes: {} });
    for (let s = 0; s < stacksPerProcess; s++) {
      const frames = Array.from({ length: 20 }, (_, d) =>
        frame(`fn_${p}_${s}_${d}`, BigInt(0x400000 + p * 100000 + s * 100 + d), APP),
      );
      samples.push(sample(pid, pid, `worker${p}`, frames, [s + 1]));
    }
  }
  return { ...onCpuProfile(), samples, processes: procs };
}
