/**
 * `meshprof record --type network` gives kept HTTP/1 requests their trace
 * context (real BPF, as root): curl sends a Node HTTP server requests with
 * traceparent, sw8, b3 and X-B3-* headers; the slow and failed ones carry the
 * caller's ids in the .json, a quick one is not kept, a trace header pushed
 * past the copied head is counted as http1_head_truncated, one in a head
 * longer than the copy is read from its first 1024 bytes, and with
 * MESHPROF_NETWORK_HEAD_BYTES=0 no request carries any.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NetworkView } from '../../src/encode/network-view.js';
import { bpfSkipReason, requirePrerequisites, toolSkipReason } from '../helpers/bpf-prerequisites.js';
import { startSlowErrServer } from '../helpers/slow-err-server.js';
import { recordNetwork } from '../helpers/record-network.js';

const run = promisify(execFile);
const skip = bpfSkipReason() ?? toolSkipReason(['/usr/bin/curl'], 'needs curl (apt)');


const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('trace context of kept HTTP/1 requests (real BPF, as root)', () => {
  beforeAll(() => requirePrerequisites(skip));
  let server: ChildProcess;
  let port: number;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshprof-h1-trace-'));
    ({ child: server, port } = await startSlowErrServer());
  }, 60_000);

  afterAll(() => {
    server?.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const curl = (path: string, ...headers: string[]): Promise<unknown> =>
    run('curl', ['-s', '-o', '/dev/null', ...headers.flatMap((h) => ['-H', h]), `http://127.0.0.1:${port}${path}`]);
  const sw8 = (): string => `1-${b64('trace.7.1700000000000')}-${b64('segment.3.1700000000001')}-2-${b64('shop')}-${b64('shop-1')}-${b64('/cart')}-${b64(`127.0.0.1:${port}`)}`;
  const load = async (): Promise<void> => {
    await curl('/slow', `traceparent: ${TRACEPARENT}`);
    await curl('/err', `sw8: ${sw8()}`);
    await curl('/err', 'b3: 80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90');
    await curl('/slow', 'X-B3-TraceId: 463ac35c9f6413ad', 'X-B3-SpanId: a2fb4a1d1a96d312', 'X-B3-Sampled: 1');
    // quick and fine: not kept
    for (let i = 0; i < 5; i++) await curl('/ok', `traceparent: ${TRACEPARENT}`);
    // the trace header past the 1024 bytes copied: counted, not guessed
    await curl('/err', `X-Pad: ${'a'.repeat(1200)}`, `traceparent: ${TRACEPARENT}`);
    // a head longer than the copy, read whole: its first 1024 bytes, with the header, are copied
    await curl('/err', `traceparent: ${TRACEPARENT}`, `X-Pad: ${'b'.repeat(1500)}`);
  };

  it('fills sw8, traceparent and zipkin of the slow and failed requests from their headers', async () => {
    const out = join(dir, 'net.json');
    await recordNetwork([server.pid!], out, load);
    const view = JSON.parse(readFileSync(out, 'utf8')) as NetworkView;
    // a quick request slowed past 100 ms by a loaded host is kept too, with its context
    for (const n of view.notable.filter((x) => x.path === '/ok')) expect(n.traceparent?.traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    const kept = view.notable.filter((n) => n.side === 'server' && n.path !== '/ok');
    console.log(kept.map((n) => `${n.path} ${n.status}: ${JSON.stringify({ sw8: n.sw8, traceparent: n.traceparent, zipkin: n.zipkin })}`).join('\n'), view.drops);
    expect(kept.map((n) => n.path)).toEqual(['/slow', '/err', '/err', '/slow', '/err', '/err']);
    expect(kept[0]).toMatchObject({ traceparent: { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' } });
    expect(kept[1]).toMatchObject({ status: 500, sw8: { traceId: 'trace.7.1700000000000', segmentId: 'segment.3.1700000000001', spanId: 2, service: 'shop' } });
    expect(kept[2]).toMatchObject({ status: 500, zipkin: { traceId: '80f198ee56343ba864fe8b2a57d3eff7', spanId: 'e457b5a2e4d86bd1' } });
    expect(kept[3]).toMatchObject({ zipkin: { traceId: '463ac35c9f6413ad', spanId: 'a2fb4a1d1a96d312' } });
    // one context each, none made up
    expect(kept.slice(0, 4).map((n) => [n.sw8, n.traceparent, n.zipkin].filter((c) => c !== undefined).length)).toEqual([1, 1, 1, 1]);
    expect(kept[4]).toMatchObject({ status: 500 });
    expect(kept[4]!.traceparent).toBeUndefined();
    expect(kept[5]).toMatchObject({ status: 500, traceparent: { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' } });
    expect(view.drops.http1_head_truncated).toBe(1);
  }, 180_000);

  it('copies no request head with MESHPROF_NETWORK_HEAD_BYTES=0', async () => {
    const out = join(dir, 'off.json');
    await recordNetwork([server.pid!], out, load, { ...process.env, MESHPROF_NETWORK_HEAD_BYTES: '0' });
    const view = JSON.parse(readFileSync(out, 'utf8')) as NetworkView;
    const kept = view.notable.filter((n) => n.side === 'server' && n.path !== '/ok');
    expect(view.notable.filter((n) => n.sw8 || n.traceparent || n.zipkin)).toEqual([]);
    expect(kept.map((n) => n.path)).toEqual(['/slow', '/err', '/err', '/slow', '/err', '/err']);
    expect(view.drops.http1_head_truncated).toBeUndefined();
  }, 180_000);
});
