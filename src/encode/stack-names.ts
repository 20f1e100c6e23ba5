/**
 * Names shared by the text serializers (folded, HTML): which process a
 * sample belongs to, and how a frame is shown.
 */
import { basename } from 'node:path';
import type { Frame, Profile, ProfileSample } from '../profile/model.js';

/**
 * The process name a sample is filed under: the main thread's comm from the
 * process table, else the sampled thread's own name (the process may have
 * exited before its metadata was read).
 */
export function processNameOf(profile: Profile, sample: ProfileSample): string {
  const name = profile.processes.get(sample.pid)?.name;
  return name !== undefined && name !== '' ? name : sample.threadName;
}

/** True for frames the kernel produced, which the text formats mark apart. */
export function isKernelFrame(frame: Frame): boolean {
  return frame.kind === 'kernel';
}

/** Frames of a sample ordered root first, as folded stacks and flame graphs read them. */
export function rootFirst(sample: ProfileSample): readonly Frame[] {
  return [...sample.frames].reverse();
}

/**
 * How a frame is shown where only a name fits (folded, HTML, SkyWalking's
 * symbol lists): interpreted Python frames carry their file and line, as
 * py-spy prints them (`handler (app.py:9)`), since the same function name
 * is common across modules and the line is what a reader acts on.
 */
export function frameLabel(frame: Frame): string {
  if (frame.kind !== 'cpython' || !frame.fileName) return frame.functionName;
  const line = frame.line !== undefined && frame.line > 0 ? `:${frame.line}` : '';
  return `${frame.functionName} (${basename(frame.fileName)}${line})`;
}
