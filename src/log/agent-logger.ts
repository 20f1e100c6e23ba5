/**
 * The agent's pino logger: JSON lines with level names for log collectors,
 * or one compact line per record for a person at a terminal.
 */
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

/** How records are written: `json` lines, `text` lines, or `auto` (text on a terminal, JSON otherwise). */
export type LogFormat = 'json' | 'text' | 'auto';

/** What the agent's logger needs to know. */
export interface AgentLoggerOptions {
  readonly level: string;
  readonly format: LogFormat;
  /** Where lines go; stdout by default. */
  readonly out?: { write(text: string): unknown; readonly isTTY?: boolean } | undefined;
}

// pino's own fields; everything else is the caller's.
const envelope = new Set(['level', 'time', 'msg', 'service', 'pid', 'hostname']);

function formatValue(v: unknown): string {
  if (typeof v === 'string') return /[\s"=]/.test(v) || v === '' ? JSON.stringify(v) : v;
  return JSON.stringify(v) ?? String(v);
}

/** One JSON record as `HH:MM:SS.mmm LEVEL message key=value ...`. */
export function formatTextRecord(line: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const time = typeof rec.time === 'string' ? rec.time.slice(11, 23) : '';
  const level = String(rec.level ?? '').toUpperCase().padEnd(5);
  const fields = Object.entries(rec).filter(([k]) => !envelope.has(k)).map(([k, v]) => `${k}=${formatValue(v)}`);
  return `${[time, level, String(rec.msg ?? ''), ...fields].filter((s) => s !== '').join(' ')}\n`;
}

/** Creates the agent's logger: level names (not numbers) and ISO times in either format. */
export function createAgentLogger(options: AgentLoggerOptions): PinoLogger {
  const out = options.out ?? process.stdout;
  const text = options.format === 'text' || (options.format === 'auto' && out.isTTY === true);
  const settings = {
    level: options.level,
    base: { service: 'meshprof' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  if (text) return pino(settings, { write: (line: string) => { out.write(formatTextRecord(line)); } } satisfies DestinationStream);
  return options.out === undefined ? pino(settings) : pino(settings, { write: (line: string) => { out.write(line); } } satisfies DestinationStream);
}
