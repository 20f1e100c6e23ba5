import type { NetworkReport } from '../profile/network-report.js';
import { writeFileAtomically, type FileWriteOptions } from './write-profile-file.js';

/** Formats a network report can be written to one file in. */
export type NetworkFileFormat = 'json' | 'html' | 'otlp' | 'otlp-json';

/** The format a network report's file name implies, or undefined. */
export function networkFormatFromFileName(file: string): NetworkFileFormat | undefined {
  const f = file.toLowerCase();
  if (f.endsWith('.otlp.json')) return 'otlp-json';
  if (f.endsWith('.otlp.pb')) return 'otlp';
  if (f.endsWith('.json')) return 'json';
  if (f.endsWith('.html') || f.endsWith('.htm')) return 'html';
  return undefined;
}

/** Serializes a report; each encoder is imported on first use. */
export async function encodeNetworkFile(format: NetworkFileFormat, report: NetworkReport, opts: { readonly hostName?: string } = {}): Promise<Uint8Array | string> {
  switch (format) {
    case 'json':
      return (await import('../encode/network-view.js')).encodeNetworkJson(report);
    case 'html':
      return (await import('../encode/network-html.js')).encodeNetworkHtml(report);
    case 'otlp':
      return (await import('../encode/otlp-metrics.js')).encodeOtlpMetricsBinary(report, opts);
    case 'otlp-json':
      return (await import('../encode/otlp-metrics.js')).encodeOtlpMetricsJson(report, opts);
  }
}

/** Writes one network report file atomically, as profiles are. */
export async function writeNetworkFile(path: string, format: NetworkFileFormat, report: NetworkReport, opts: { readonly hostName?: string } & FileWriteOptions = {}): Promise<void> {
  await writeFileAtomically(path, await encodeNetworkFile(format, report, opts), 'network report', opts);
}
