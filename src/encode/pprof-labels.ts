/**
 * Per-sample pprof labels: who ran the stack (pid, tid, thread and process
 * names) and where it ran (container, pod, service attributes).
 */
import { Label, StringTable } from 'pprof-format';
import type { ProcessMetadata, ProfileSample } from '../profile/model.js';

/**
 * Resource-attribute prefixes copied onto samples. pprof has no resource
 * section, so these labels are the only way a pprof reader can split a
 * profile by pod or service.
 */
export const LABELLED_ATTRIBUTE_PREFIXES: readonly string[] = ['k8s.', 'container.', 'service.', 'istio.', 'mesh.'];

/** pprof label key for an OTel attribute name: `service.name` → `service_name`. */
export function attributeLabelKey(attribute: string): string {
  return attribute.replaceAll('.', '_');
}

/** Builds the labels of one sample, interning strings into `strings`. */
export function sampleLabels(
  sample: ProfileSample,
  process: ProcessMetadata | undefined,
  strings: StringTable,
): Label[] {
  const str = (key: string, value: string): Label =>
    new Label({ key: strings.dedup(key), str: strings.dedup(value) });
  const num = (key: string, value: number): Label => new Label({ key: strings.dedup(key), num: value });
  const processName = process !== undefined && process.name !== '' ? process.name : sample.threadName;
  const labels = [
    num('pid', sample.pid),
    num('tid', sample.tid),
    str('thread_name', sample.threadName),
    str('process_name', processName),
  ];
  if (process === undefined) return labels;
  const attributes = Object.entries(process.attributes)
    .filter(([name]) => LABELLED_ATTRIBUTE_PREFIXES.some((prefix) => name.startsWith(prefix)))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [name, value] of attributes) labels.push(str(attributeLabelKey(name), value));
  return labels;
}
