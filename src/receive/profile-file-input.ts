/**
 * Profile files as `meshprof diff` reads them: pprof (gzipped or not, from
 * meshprof or any other profiler) or folded stacks (`comm;root;...;leaf N`,
 * kernel frames marked `_[k]` as meshprof and stackcollapse-perf.pl write).
 */
import { basename } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Profile as PprofProfile } from 'pprof-format';
import type { Frame, ProcessMetadata, Profile, ProfileSample } from '../profile/model.js';
import { pprofToProfile } from './pprof-input.js';
import { InvalidRequestError } from './otlp-validation.js';

const KERNEL_MAPPING_FILE = '[kernel.kallsyms]';
const KERNEL_SUFFIX = '_[k]';

const isGzip = (b: Uint8Array): boolean => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

/**
 * A profile file's bytes as a Profile; `name` is only for error messages.
 * Samples carry one pid per process name (pprof's `process_name` label,
 * folded's first element), so stacks of several processes stay apart.
 */
export function parseProfileFile(bytes: Uint8Array, name: string): Profile {
  let raw = bytes;
  if (isGzip(bytes)) {
    try {
      raw = gunzipSync(bytes);
    } catch (err) {
      throw new InvalidRequestError(`reading ${name}: gzip: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (looksFolded(raw)) return parseFolded(Buffer.from(raw).toString('utf8'), name);
  try {
    return parsePprof(raw);
  } catch (err) {
    throw new InvalidRequestError(`reading ${name}: not a pprof or folded profile: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Folded text is printable and its first line ends in a count; pprof is binary. */
function looksFolded(raw: Uint8Array): boolean {
  const head = Buffer.from(raw.subarray(0, 4096)).toString('utf8');
  if (head.length === 0 || /[\u0000-\u0008\u000e-\u001f]/.test(head)) return false;
  const first = head.split('\n', 1)[0] ?? '';
  return /\s-?\d+$/.test(first.trimEnd());
}

function parsePprof(raw: Uint8Array): Profile {
  // pprofToProfile names frames; the labels (which process ran each sample) are read here.
  const decoded = PprofProfile.decode(raw);
  const strings = decoded.stringTable.strings;
  const profile = pprofToProfile(raw, { pid: 0, name: '', attributes: {} });
  const processNames = decoded.sample.map((s) => {
    let processName = '';
    let thread = '';
    for (const label of s.label) {
      const key = strings[Number(label.key)];
      if (key === 'process_name') processName = strings[Number(label.str)] ?? '';
      else if (key === 'thread_name') thread = strings[Number(label.str)] ?? '';
    }
    return processName !== '' ? processName : thread;
  });
  const byName = new Map<string, number>();
  const samples = profile.samples.map((s, i): ProfileSample => {
    const processName = processNames[i] ?? '';
    let pid = byName.get(processName);
    if (pid === undefined) {
      pid = byName.size + 1;
      byName.set(processName, pid);
    }
    const frames = s.frames.map(withKindAndName);
    return { ...s, pid, threadName: processName, frames };
  });
  return { ...profile, samples, processes: processesOf(byName) };
}

/**
 * pprof has no frame kinds: kernel frames are the ones in the kernel's
 * mapping. An unnamed frame gets meshprof's `module+0xOFFSET` name, which
 * stays the same across runs of one build (the runtime address does not).
 */
function withKindAndName(f: Frame): Frame {
  const kernel = f.mapping?.file === KERNEL_MAPPING_FILE;
  if (f.symbolized || f.mapping === undefined) return kernel ? { ...f, kind: 'kernel' } : f;
  const m = f.mapping;
  const module = kernel || !m.file.startsWith('/') ? m.file : basename(m.file);
  const offset = kernel ? f.address : f.address - m.start + m.fileOffset;
  return { ...f, kind: kernel ? 'kernel' : f.kind, functionName: `${module === '' ? '[anon]' : module}+0x${offset.toString(16)}` };
}

function processesOf(byName: ReadonlyMap<string, number>): Map<number, ProcessMetadata> {
  return new Map([...byName].map(([name, pid]) => [pid, { pid, name, attributes: {} }]));
}

function parseFolded(text: string, name: string): Profile {
  const byName = new Map<string, number>();
  const samples: ProfileSample[] = [];
  const lines = text.split('\n');
  lines.forEach((line, n) => {
    const trimmed = line.trimEnd();
    if (trimmed === '') return;
    const m = /^(.*\S)\s+(-?\d+)$/.exec(trimmed);
    if (m === null) throw new InvalidRequestError(`reading ${name}: line ${n + 1} is not "frame;frame;... count": ${trimmed.slice(0, 80)}`);
    const [processName = '', ...names] = (m[1] ?? '').split(';');
    let pid = byName.get(processName);
    if (pid === undefined) {
      pid = byName.size + 1;
      byName.set(processName, pid);
    }
    const frames = names.reverse().map((fn): Frame => {
      const kernel = fn.endsWith(KERNEL_SUFFIX);
      return { functionName: kernel ? fn.slice(0, -KERNEL_SUFFIX.length) : fn, kind: kernel ? 'kernel' : 'native', address: 0n, mapping: undefined, symbolized: true };
    });
    samples.push({ pid, tid: pid, threadName: processName, frames, values: [Number(m[2])] });
  });
  return {
    sampleTypes: [{ type: 'samples', unit: 'count' }],
    periodType: { type: 'samples', unit: 'count' },
    period: 1,
    startTimeNs: 0n,
    durationNs: 0n,
    samples,
    processes: processesOf(byName),
    drops: {},
  };
}
