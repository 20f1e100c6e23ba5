/**
 * The legacy Pyroscope /ingest request: the pprof as a multipart form field
 * named `profile`, with no `format` parameter (the server recognises pprof
 * in a multipart body), and the series named by the `name` query parameter.
 */
import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { Profile as PprofProfile } from 'pprof-format';

/** One /ingest POST. */
export interface IngestRequest {
  readonly url: URL;
  readonly contentType: string;
  readonly body: Buffer;
}

/** Builds the /ingest request for one series' gzipped pprof. */
export function ingestRequest(
  base: URL,
  labels: readonly { readonly name: string; readonly value: string }[],
  gzippedPprof: Uint8Array,
): IngestRequest {
  const url = new URL('ingest', base);
  url.searchParams.set('name', legacyName(labels));
  const window = pprofWindow(gzippedPprof);
  url.searchParams.set('from', String(window.from));
  url.searchParams.set('until', String(window.until));
  if (window.sampleRate > 0) url.searchParams.set('sampleRate', String(window.sampleRate));
  const boundary = `meshprof-${randomBytes(12).toString('hex')}`;
  const body = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="profile"; filename="profile.pprof"\r\n` +
        'Content-Type: application/octet-stream\r\n\r\n',
    ),
    Buffer.from(gzippedPprof),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { url, contentType: `multipart/form-data; boundary=${boundary}`, body };
}

/** `service{k=v,...}`: the legacy app name carries the service name; the profile type comes from the pprof itself. */
export function legacyName(labels: readonly { readonly name: string; readonly value: string }[]): string {
  const service = labels.find((l) => l.name === 'service_name')?.value ?? 'unknown_service';
  const rest = labels
    .filter((l) => l.name !== 'service_name' && l.name !== '__name__')
    .map((l) => `${l.name}=${l.value}`);
  return `${service}{${rest.join(',')}}`;
}

/** from/until in Unix seconds and the sample rate in Hz, read from the pprof. */
function pprofWindow(gzippedPprof: Uint8Array): { from: number; until: number; sampleRate: number } {
  const p = PprofProfile.decode(gunzipSync(gzippedPprof));
  const startNs = BigInt(p.timeNanos);
  const from = Number(startNs / 1_000_000_000n);
  const until = Number((startNs + BigInt(p.durationNanos)) / 1_000_000_000n);
  const period = Number(p.period);
  // Only a CPU sampling period converts to Hz; off-CPU periods are not rates.
  const periodType = p.periodType ? p.stringTable.strings[Number(p.periodType.type)] : undefined;
  const sampleRate = periodType === 'cpu' && period > 0 ? Math.round(1e9 / period) : 0;
  return { from, until: Math.max(until, from + 1), sampleRate };
}
