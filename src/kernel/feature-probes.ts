import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { openBpfObject, type BpfObject } from './bpf-object.js';
import { errnoName, errnoOf, UnsupportedFeatureError } from './errors.js';
import { loadNativeAddon } from './native-addon.js';
import { effectiveCapabilities, missingProfilingCapabilities } from './privileges.js';

/** One line of `meshprof check`. */
export interface FeatureCheck {
  readonly name: string;
  readonly ok: boolean;
  /** False for informational checks: the agent runs without them. */
  readonly required: boolean;
  readonly detail: string;
  /** What to change when !ok; empty when ok. */
  readonly fix: string;
}

const probePrograms = ['probe_tp_btf', 'probe_raw_tp', 'probe_kprobe', 'probe_fentry', 'probe_uprobe'] as const;
type ProbeProgram = (typeof probePrograms)[number];

function check(name: string, required: boolean, ok: boolean, detail: string, fix: string): FeatureCheck {
  return { name, ok, required, detail, fix: ok ? '' : fix };
}

function describeError(err: unknown): string {
  const errno = errnoOf(err);
  const first = (err as Error).message.split('\n')[0] ?? '';
  return errno === undefined ? first : `${first} (${errnoName(errno)})`;
}

/** Kernel BTF at /sys/kernel/btf/vmlinux (5.4+, CONFIG_DEBUG_INFO_BTF): needed by CO-RE and tp_btf. */
export function probeBtf(): FeatureCheck {
  const ok = existsSync('/sys/kernel/btf/vmlinux');
  return check('btf', true, ok, ok ? '/sys/kernel/btf/vmlinux present' : '/sys/kernel/btf/vmlinux missing',
    'use a kernel built with CONFIG_DEBUG_INFO_BTF=y (linux 5.4+)');
}

/** The bpf() syscall loads a perf_event program (needs privileges). */
export function probeBpfSyscall(): FeatureCheck {
  const r = loadNativeAddon().probeProgType('perf_event');
  return check('bpf', true, r === 1, r === 1 ? 'perf_event programs load' : `perf_event program load failed (${r})`,
    'run as root or grant CAP_BPF and CAP_PERFMON; check kernel.unprivileged_bpf_disabled and CONFIG_BPF_SYSCALL');
}

/** A software cpu-clock sampling event opens on CPU 0 (the on-CPU sampler's clock). */
export function probeCpuClock(): FeatureCheck {
  const r = loadNativeAddon().probeCpuClock(0);
  return check('perf_event cpu-clock', true, r === 0, r === 0 ? 'cpu-clock sampling event opens' : `perf_event_open failed: ${errnoName(-r)}`,
    'run as root or grant CAP_PERFMON, or lower kernel.perf_event_paranoid');
}

/** What the .eh_frame stack walker needs that frame pointers do not: bpf_loop, linux 5.17. */
const STACK_WALKER = { feature: 'bpf_loop (the .eh_frame stack walker)', minimumKernel: '5.17' } as const;

let bpfLoopProbed: number | undefined;

/**
 * libbpf's probe for bpf_loop in a perf_event program, asked once per process
 * (the kernel does not change under us). bpf_loop is a base helper, so every
 * program type the samplers use (perf_event, tp_btf, raw_tp) has it or none does.
 */
function bpfLoopProbe(): number {
  bpfLoopProbed ??= loadNativeAddon().probeHelper('perf_event', 'loop');
  return bpfLoopProbed;
}

/** The bpf_loop helper (5.17+): optional, without it user stacks follow frame pointers. */
export function probeBpfLoop(): FeatureCheck {
  const r = bpfLoopProbe();
  const detail = r === 1 ? 'perf_event programs may call bpf_loop'
    : r === 0 ? 'the verifier does not know bpf_loop: user stacks follow frame pointers only'
      : `probing bpf_loop failed: ${errnoName(-r)}`;
  return check('bpf_loop', false, r === 1, detail,
    `needs linux ${STACK_WALKER.minimumKernel}+ to walk user stacks without frame pointers (optional)`);
}

/**
 * Throws UnsupportedFeatureError when this kernel lacks what the .eh_frame
 * stack walker needs (bpf_loop, linux 5.17), so callers can fall back to
 * frame pointers for that reason and no other. A probe that could not run
 * throws nothing: loading the walker then reports the real failure.
 * The probe runs once per process.
 */
export function requireStackWalker(): void {
  if (bpfLoopProbe() === 0) {
    throw new UnsupportedFeatureError(STACK_WALKER.feature, STACK_WALKER.minimumKernel, `running linux ${release()}`);
  }
}

/** Loads (and attaches) only one program of build/probe.bpf.o. */
function probeProgram(prog: ProbeProgram, attach: (o: BpfObject) => { destroy(): void }): string | undefined {
  let o: BpfObject | undefined;
  try {
    o = openBpfObject('probe');
    for (const p of probePrograms) o.setAutoload(p, p === prog);
    o.load();
    attach(o).destroy();
    return undefined;
  } catch (err) {
    return describeError(err);
  } finally {
    o?.destroy();
  }
}

function programCheck(name: string, required: boolean, prog: ProbeProgram, minimumKernel: string,
  attach: (o: BpfObject) => { destroy(): void }): FeatureCheck {
  const err = probeProgram(prog, attach);
  return check(name, required, err === undefined, err ?? `${name} program loads and attaches`,
    `needs linux ${minimumKernel}+ with ${name} support${required ? '' : ' (optional)'}`);
}

/** BTF-typed tracepoints (5.5+): used by the off-CPU sampler. */
export function probeTpBtf(): FeatureCheck {
  return programCheck('tp_btf', true, 'probe_tp_btf', '5.5', (o) => o.attach('probe_tp_btf'));
}

/** Raw tracepoints (4.17+): the fallback for tp_btf. */
export function probeRawTp(): FeatureCheck {
  return programCheck('raw_tp', true, 'probe_raw_tp', '4.17', (o) => o.attach('probe_raw_tp'));
}

/**
 * Uprobes through the perf_event uprobe PMU, tried on libc's getpid in this
 * process. Optional: only memory profiles and TLS network payloads attach
 * uprobes. Measured on 6.18 (npm run image:test): with CAP_BPF and
 * CAP_PERFMON but not CAP_SYS_ADMIN, the attach fails with EACCES.
 */
export function probeUprobes(): FeatureCheck {
  const c = programCheck('uprobes', false, 'probe_uprobe', '4.17', (o) =>
    o.attachUprobe('probe_uprobe', { pid: process.pid, binaryPath: libcPath(), functionName: 'getpid' }));
  return c.ok ? c : { ...c, fix: 'memory profiles and TLS network payloads need it: linux 4.17+ with uprobes, and CAP_SYS_ADMIN where CAP_PERFMON alone is refused (optional)' };
}

/** Kprobes: informational, meshprof does not need them. */
export function probeKprobes(): FeatureCheck {
  return programCheck('kprobes', false, 'probe_kprobe', '4.1', (o) => o.attach('probe_kprobe'));
}

/** fentry: informational, meshprof does not need it. */
export function probeFentry(): FeatureCheck {
  return programCheck('fentry', false, 'probe_fentry', '5.5', (o) => o.attach('probe_fentry'));
}

/** tracefs mounted: informational (perf_event-based attach does not need it). */
export function probeTracefs(): FeatureCheck {
  const path = ['/sys/kernel/tracing/events', '/sys/kernel/debug/tracing/events'].find((p) => existsSync(p));
  return check('tracefs', false, path !== undefined, path ? `mounted at ${path.replace(/\/events$/, '')}` : 'not mounted',
    'mount -t tracefs nodev /sys/kernel/tracing (optional)');
}

/** Parses "6.18.44-foo" into [6, 18]. */
export function parseKernelRelease(text: string): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** Linux 5.8+: CAP_BPF, ring buffers and batch map operations. */
export function probeKernelVersion(rel: string = release()): FeatureCheck {
  const v = parseKernelRelease(rel);
  const ok = v !== undefined && (v[0] > 5 || (v[0] === 5 && v[1] >= 8));
  return check('kernel version', true, ok, `linux ${rel}`, 'upgrade to linux 5.8 or newer');
}

/** Effective capabilities from /proc/self/status: CAP_SYS_ADMIN, or CAP_BPF with CAP_PERFMON. */
export function probeCapabilities(status: string = readFileSync('/proc/self/status', 'utf8')): FeatureCheck {
  const have = effectiveCapabilities(status);
  const held = (['CAP_SYS_ADMIN', 'CAP_PERFMON', 'CAP_BPF'] as const).filter((c) => have.has(c));
  const ok = missingProfilingCapabilities(have).length === 0;
  return check('capabilities', true, ok, held.length ? held.join(', ') : 'none of CAP_SYS_ADMIN, CAP_PERFMON, CAP_BPF',
    'run as root or grant CAP_BPF and CAP_PERFMON (e.g. setcap or a pod securityContext)');
}

/** Every check, in the order `meshprof check` prints them. */
export function runFeatureProbes(): FeatureCheck[] {
  return [probeKernelVersion(), probeCapabilities(), probeBtf(), probeBpfSyscall(), probeCpuClock(),
    probeTpBtf(), probeRawTp(), probeUprobes(), probeBpfLoop(), probeTracefs(), probeKprobes(), probeFentry()];
}

function libcPath(): string {
  const maps = readFileSync('/proc/self/maps', 'utf8');
  const m = /\s(\/\S*\/libc(?:\.so\.6|-[\d.]+\.so))$/m.exec(maps);
  return m?.[1] ?? 'libc.so.6';
}
