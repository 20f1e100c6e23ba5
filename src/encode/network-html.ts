/**
 * The network report as one self-contained HTML page: a topology graph
 * (processes and external addresses as nodes, caller → callee edges with
 * requests/s, bytes, p50/p99 and error rate), then per-process endpoint and
 * TCP tables and the slow or failed requests. Static SVG, no script.
 */
import type { NetworkReport } from '../profile/network-report.js';
import { escapeHtml } from './flame-data.js';
import { buildNetworkView, type EdgeView, type NetworkView } from './network-view.js';

const ms = (s: number): string => `${(s * 1000).toFixed(s < 0.01 ? 2 : 1)} ms`;
const pct = (x: number): string => `${(x * 100).toFixed(x > 0 && x < 0.01 ? 2 : 1)}%`;

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function table(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  if (rows.length === 0) return '<p class="none">none</p>';
  const th = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const tr = rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(String(c))}</td>`).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${tr}\n</tbody></table>`;
}

/** Nodes on a circle, one line per edge with its figures at the middle. */
function topology(edges: readonly EdgeView[]): string {
  const names = [...new Set(edges.flatMap((e) => [e.from, e.to]))];
  if (names.length === 0) return '<p class="none">no HTTP traffic seen</p>';
  const w = 900, h = Math.max(360, 120 + names.length * 40), r = Math.min(w, h) / 2 - 90;
  const pos = new Map(names.map((n, i) => {
    const a = (2 * Math.PI * i) / names.length - Math.PI / 2;
    return [n, { x: w / 2 + r * Math.cos(a), y: h / 2 + r * Math.sin(a) }] as const;
  }));
  const lines = edges.map((e, i) => {
    const a = pos.get(e.from)!, b = pos.get(e.to)!;
    // labels of edges that share a node sit at different points along their lines, off to one side
    const t = 0.3 + 0.4 * ((i % 3) / 2);
    const len = Math.hypot(b.x - a.x, b.y - a.y) || 1;
    const mx = a.x + (b.x - a.x) * t - ((b.y - a.y) / len) * 12, my = a.y + (b.y - a.y) * t + ((b.x - a.x) / len) * 12;
    const label = `${e.requestsPerSecond.toFixed(1)} req/s, p50 ${ms(e.p50Seconds)}, p99 ${ms(e.p99Seconds)}, err ${pct(e.errorRate)}, ${bytes(e.bytes)}`;
    return `<line x1="${a.x.toFixed(1)}" y1="${a.y.toFixed(1)}" x2="${b.x.toFixed(1)}" y2="${b.y.toFixed(1)}" class="${e.errorRate > 0 ? 'edge err' : 'edge'}" marker-end="url(#arrow)"/>` +
      `<text x="${mx.toFixed(1)}" y="${my.toFixed(1)}" class="elabel">${escapeHtml(`(${e.seenBy}) ${label}`)}</text>`;
  }).join('\n');
  const nodes = names.map((n) => {
    const p = pos.get(n)!;
    return `<circle cx="${p.x.toFixed(1)}" cy="${p.y.toFixed(1)}" r="9" class="node"/><text x="${p.x.toFixed(1)}" y="${(p.y - 14).toFixed(1)}" class="nlabel">${escapeHtml(n)}</text>`;
  }).join('\n');
  return `<svg viewBox="0 0 ${w} ${h}" width="100%" role="img" aria-label="topology">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="18" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z"/></marker></defs>
${lines}
${nodes}
</svg>`;
}

function body(v: NetworkView): string {
  const edges = table(['from', 'to', 'seen by', 'requests', 'req/s', 'errors', 'error rate', 'bytes', 'p50', 'p99'],
    v.edges.map((e) => [e.from, e.to, e.seenBy, e.requests, e.requestsPerSecond.toFixed(2), e.errors, pct(e.errorRate), bytes(e.bytes), ms(e.p50Seconds), ms(e.p99Seconds)]));
  const procs = v.processes.map((p) => `<section><h3>${escapeHtml(`${p.name} (pid ${p.pid})`)}</h3>
${table(['side', 'method', 'status', 'scheme', 'server', ...(p.http.some((r) => r.path !== undefined) ? ['path'] : []), 'requests', 'p50', 'p99', 'max'],
    p.http.map((r) => [r.side, r.method, r.status ?? 'no response', r.scheme, r.server ?? '?', ...(r.path !== undefined ? [r.path] : []), r.count, ms(r.p50Seconds), ms(r.p99Seconds), ms(r.maxSeconds)]))}
${table(['side', 'server', 'client', 'protocol', 'h2 streams', 'sent', 'received', 'opened', 'closed', 'retransmits', 'rtt'],
    p.tcp.map((t) => [t.side, t.server, t.client ?? '', t.protocol ?? '', t.protocol === 'http2' ? t.http2Streams : '', bytes(t.bytesSent), bytes(t.bytesReceived), t.opened, t.closed, t.retransmits, t.rttSeconds === null ? '' : ms(t.rttSeconds)]))}
</section>`).join('\n');
  // the most sampled stack of the serving thread, leaf first
  const topStack = (n: (typeof v.notable)[number]): string => {
    const s = n.stacks[0];
    return s === undefined ? '' : `${s.samples}× ${s.frames.slice(0, 8).join(' ← ')}`;
  };
  const notable = table(['reason', 'pid', 'tid', 'side', 'method', 'path', 'status', 'duration', 'start', 'local', 'peer', 'tls', 'on-CPU stack'],
    v.notable.map((n) => [n.reason, n.pid, n.tid, n.side, n.method, n.path, n.status ?? 'none', ms(n.durationSeconds), n.start, n.local ?? '', n.peer ?? '', n.tls ? 'yes' : 'no', topStack(n)]));
  const drops = Object.entries(v.drops).filter(([, n]) => n > 0).map(([k, n]) => `${k}=${n}`).join(', ') || 'none';
  return `<h2>Topology</h2>\n${topology(v.edges)}\n${edges}
<h2>Processes</h2>\n${procs || '<p class="none">no process seen</p>'}
<h2>Slow (≥ ${ms(v.slowThresholdSeconds)}), failed and unanswered requests</h2>\n${notable}
<h2>Dropped</h2>\n<p>${escapeHtml(drops)}</p>`;
}

/** Encodes a report as a standalone HTML page. */
export function encodeNetworkHtml(report: NetworkReport, options: { readonly title?: string } = {}): string {
  const v = buildNetworkView(report);
  const title = escapeHtml(options.title ?? 'meshprof network report');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1em}
th,td{border:1px solid #ccc;padding:.2em .5em;text-align:left}
th{background:#f3f3f3}
.none{color:#777}
.edge{stroke:#4a7;stroke-width:2}.edge.err{stroke:#c44}
.node{fill:#357}.nlabel{font-size:12px;text-anchor:middle}.elabel{font-size:11px;text-anchor:middle;fill:#333}
</style>
</head>
<body>
<h1>${title}</h1>
<p>Window: ${escapeHtml(v.start)}, ${v.durationSeconds.toFixed(2)} s.</p>
${body(v)}
</body>
</html>
`;
}
