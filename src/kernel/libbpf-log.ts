/** Severity libbpf gave a message. */
export type LibbpfLevel = 'warn' | 'info' | 'debug';

/** One libbpf message; a verifier log is one message of many lines. */
export interface LibbpfMessage {
  readonly level: LibbpfLevel;
  readonly text: string;
}

const levels: Record<string, LibbpfLevel> = { w: 'warn', i: 'info', d: 'debug' };

/** Splits native takeLog() output ("<w|i|d>:<text>" records ended by \x1e, see native/log.c). */
export function parseLibbpfLog(raw: string): LibbpfMessage[] {
  const out: LibbpfMessage[] = [];
  for (const rec of raw.split('\x1e')) {
    if (!rec) continue;
    const level = levels[rec[0] ?? ''];
    out.push(level && rec[1] === ':' ? { level, text: rec.slice(2) } : { level: 'info', text: rec });
  }
  return out;
}

/** The messages as plain text, as libbpf would have printed them. */
export function libbpfLogText(messages: readonly LibbpfMessage[]): string {
  return messages.map((m) => m.text).join('');
}
