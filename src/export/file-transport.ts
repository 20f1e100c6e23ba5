/**
 * File transport: each request goes to a file. The first send writes
 * `path`; later sends write `name.1.ext`, `name.2.ext`, ... so nothing is
 * overwritten. `.otlp.json` paths get the OTLP JSON form of the request.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { otlpBinaryToJson } from '../encode/otlp-json.js';
import type { ExportTransport, SendResult } from './transport.js';

/** What the bytes handed to send() are, and how to write them. */
export type FileFormat = 'raw' | 'otlp-json';

/** Settings for createFileTransport. */
export interface FileTransportOptions {
  readonly path: string;
  /** Default: otlp-json for *.otlp.json paths (input must then be OTLP request bytes), else raw. */
  readonly format?: FileFormat | undefined;
}

/** Creates a transport that writes each request to a file. */
export function createFileTransport(options: FileTransportOptions): ExportTransport {
  const format = options.format ?? (options.path.endsWith('.otlp.json') ? 'otlp-json' : 'raw');
  let sequence = 0;
  return {
    async send(bytes): Promise<SendResult> {
      const path = sequencedPath(options.path, sequence++);
      try {
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, format === 'otlp-json' ? otlpBinaryToJson(bytes) : bytes);
        return { ok: true };
      } catch (err) {
        // A full or read-only disk will not fix itself between retries.
        return { ok: false, retryable: false, reason: `writing ${path}: ${(err as Error).message}` };
      }
    },
    async shutdown() {},
  };
}

/** `dir/x.otlp.pb` → `dir/x.1.otlp.pb` for n = 1; the path itself for n = 0. */
export function sequencedPath(path: string, n: number): string {
  if (n === 0) return path;
  const slash = path.lastIndexOf('/');
  const dot = path.indexOf('.', slash + 2);
  return dot < 0 ? `${path}.${n}` : `${path.slice(0, dot)}.${n}${path.slice(dot)}`;
}
