/**
 * HTTP/2 headers decoded (HPACK) from the kernel's copies of HEADERS and
 * CONTINUATION frames: a Node h2c server called by a Node http2 client (both
 * followed) and by curl --http2-prior-knowledge, and nginx serving h2 over
 * TLS (ALPN, self-signed certificate, libssl uprobes) to curl -k --http2.
 * Requests are counted by method and status exactly, the slow one is in the
 * slow list, a gRPC call whose trailers say grpc-status 2 is failed, and
 * the sw8 and traceparent headers of two requests are read.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NetworkView, ProcessView } from '../../src/encode/network-view.js';
import { bpfSkipReason, requirePrerequisites, toolSkipReason } from '../helpers/bpf-prerequisites.js';
import { freePort } from '../helpers/free-port.js';
import { recordNetwork } from '../helpers/record-network.js';

const run = promisify(execFile);
const skip = bpfSkipReason() ?? toolSkipReason(['/usr/sbin/nginx', '/usr/bin/curl', '/usr/bin/openssl'], 'needs nginx, curl and openssl (apt)');

/** h2c server (core stream API): /ok 200, /missing 404, /err 500, /slow 200 after 200 ms, /pkg.Svc/* gRPC failing with status 2. */
const SERVER = `
const h2 = require('node:http2');
const srv = h2.createServer();
srv.on('stream', (stream, headers) => {
  const path = headers[':path'];
  stream.on('error', () => {});
  stream.resume();
  if (path.startsWith('/pkg.Svc/')) {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '2', 'grpc-message': 'failed on purpose' }));
    stream.end(Buffer.from([0, 0, 0, 0, 0]));
  } else if (path === '/slow') {
    setTimeout(() => { stream.respond({ ':status': 200 }); stream.end('slow'); }, 200);
  } else {
    const status = path === '/ok' ? 200 : path === '/err' ? 500 : 404;
    stream.respond({ ':status': status, 'content-type': 'text/plain' });
    stream.end('x');
  }
});
srv.listen(0, '127.0.0.1', () => console.log(srv.address().port));
`;

/** http2 client: one connection, opened on 'go' (after the recording started: its preface must be seen), requests one after another, then 'done'. */
const CLIENT = `
let c;
const plan = [];
for (let i = 0; i < 5; i++) plan.push({ ':path': '/ok' });
for (let i = 0; i < 3; i++) plan.push({ ':path': '/missing?q=' + i });
for (let i = 0; i < 2; i++) plan.push({ ':path': '/err', ':method': 'POST', 'content-type': 'text/plain' });
plan.push({ ':path': '/slow', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
plan.push({ ':path': '/pkg.Svc/Fail', ':method': 'POST', 'content-type': 'application/grpc', te: 'trailers', sw8: process.argv[2] });
const next = () => {
  const h = plan.shift();
  if (!h) { c.close(); console.log('done'); return; }
  const r = c.request(h);
  r.on('error', () => {});
  r.resume();
  r.on('close', next);
  r.end(h[':method'] === 'POST' ? Buffer.from([0, 0, 0, 0, 0]) : undefined);
};
process.stdin.once('data', () => { c = require('node:http2').connect('http://127.0.0.1:' + process.argv[1]); next(); });
`;

/** http2 client: on 'go', 5 rounds of 40 concurrent streams on one connection (many frames per read and per writev), then 'done'. */
const CONCURRENT = `
process.stdin.once('data', async () => {
  const c = require('node:http2').connect('http://127.0.0.1:' + process.argv[1]);
  for (let round = 0; round < 5; round++) {
    await Promise.all(Array.from({ length: 40 }, (_, i) => new Promise((done) => {
      const r = c.request({ ':path': i % 4 === 0 ? '/missing' : '/ok' });
      r.on('error', done);
      r.resume();
      r.on('close', done);
      r.end();
    })));
  }
  c.close();
  console.log('done');
});
`;

/** Raw h2c client (python): on a line of stdin, GET /ok, /missing, /ok on one connection, each HEADERS frame written in two writes 200 ms apart (its header and 3 bytes of its block, then the rest); 'done' once all three are answered. */
const SPLIT_CLIENT = `
import socket, struct, sys, time
port = int(sys.argv[1])
sys.stdin.readline()
def frame(t, flags, sid, payload):
    return struct.pack('>I', len(payload))[1:] + bytes([t, flags]) + struct.pack('>I', sid) + payload
s = socket.create_connection(('127.0.0.1', port))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.sendall(b'PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n' + frame(4, 0, 0, b''))
buf = b''
def read_frame():
    global buf
    while True:
        if len(buf) >= 9:
            n = int.from_bytes(buf[:3], 'big')
            if len(buf) >= 9 + n:
                f, buf = buf[:9 + n], buf[9 + n:]
                return f[3], f[4], int.from_bytes(f[5:9], 'big') & 0x7fffffff
        d = s.recv(65536)
        if not d:
            sys.exit('server closed')
        buf += d
for i, path in enumerate([b'/ok', b'/missing', b'/ok']):
    sid = 1 + 2 * i
    # :method GET, :scheme http (static), :path and :authority literal without indexing
    f = frame(1, 0x5, sid, b'\\x82\\x86\\x04' + bytes([len(path)]) + path + b'\\x01\\x09localhost')
    s.sendall(f[:12])
    time.sleep(0.2)
    s.sendall(f[12:])
    while True:
        t, flags, fsid = read_frame()
        if t == 4 and not flags & 1:
            s.sendall(frame(4, 1, 0, b''))
        if fsid == sid and flags & 1:
            break
print('done', flush=True)
sys.stdin.readline()
`;

function rows(p: ProcessView | undefined): [string, string, number | null, string, boolean, number | null, number][] {
  return (p?.http ?? []).map((r) => [r.side, r.method, r.status, r.protocolVersion, r.scheme === 'https', r.grpcStatus ?? null, r.count] as [string, string, number | null, string, boolean, number | null, number])
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

function waitExit(c: ChildProcess): Promise<void> {
  return c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', () => r()));
}

describe('HTTP/2 headers (HPACK)', () => {
  beforeAll(() => requirePrerequisites(skip));
  let dir = '';
  const children: ChildProcess[] = [];
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'meshprof-h2-')); });
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await Promise.all(children.map(waitExit));
    rmSync(dir, { recursive: true, force: true });
  });

  it('h2c: counts a Node client\'s and curl\'s requests by method and status, the slow one and the failed gRPC call', async () => {
    const server = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(server);
    const port = Number(await new Promise<string>((r) => server.stdout!.once('data', (d: Buffer) => r(d.toString()))));
    const b64 = (s: string): string => Buffer.from(s).toString('base64');
    const sw8 = `1-${b64('trace.1.1700000000000')}-${b64('segment.2.1700000000001')}-4-${b64('shop')}-${b64('shop-1')}-${b64('/checkout')}-${b64(`127.0.0.1:${port}`)}`;
    const client = spawn(process.execPath, ['-e', CLIENT, String(port), sw8], { stdio: ['pipe', 'pipe', 'inherit'] });
    children.push(client);
    const file = join(dir, 'h2c.json');
    await recordNetwork([server.pid!, client.pid!], file, async () => {
      client.stdin!.write('go\n');
      await new Promise((r) => client.stdout!.once('data', r));
      // curl is not followed (it starts after the recording): only the server sees its requests
      for (let i = 0; i < 4; i++) await run('curl', ['-sf', '--http2-prior-knowledge', '-o', '/dev/null', `http://127.0.0.1:${port}/ok`]);
      await run('curl', ['-s', '--http2-prior-knowledge', '-o', '/dev/null', `http://127.0.0.1:${port}/missing`]);
    });
    const view = JSON.parse(readFileSync(file, 'utf8')) as NetworkView;
    const byPid = new Map(view.processes.map((p) => [p.pid, p]));
    console.log(`h2c drops: ${JSON.stringify(view.drops)}`);
    expect(rows(byPid.get(server.pid!))).toEqual([
      ['server', 'GET', 200, '2', false, null, 10],
      ['server', 'GET', 404, '2', false, null, 4],
      ['server', 'POST', 200, '2', false, 2, 1],
      ['server', 'POST', 500, '2', false, null, 2],
    ]);
    expect(rows(byPid.get(client.pid!))).toEqual([
      ['client', 'GET', 200, '2', false, null, 6],
      ['client', 'GET', 404, '2', false, null, 3],
      ['client', 'POST', 200, '2', false, 2, 1],
      ['client', 'POST', 500, '2', false, null, 2],
    ]);
    const notable = (pid: number): [string, string, string, number | null, number | null][] => view.notable.filter((n) => n.pid === pid)
      .map((n) => [n.reason, n.method, n.path, n.status, n.grpcStatus ?? null] as [string, string, string, number | null, number | null])
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    const expected = [
      ['failed', 'POST', '/err', 500, null], ['failed', 'POST', '/err', 500, null],
      ['failed', 'POST', '/pkg.Svc/Fail', 200, 2], ['slow', 'GET', '/slow', 200, null],
    ];
    expect(notable(server.pid!)).toEqual(expected);
    expect(notable(client.pid!)).toEqual(expected);
    // trace context headers, decoded from HPACK on both ends
    for (const pid of [server.pid!, client.pid!]) {
      const mine = view.notable.filter((n) => n.pid === pid);
      expect(mine.find((n) => n.path === '/slow')?.traceparent).toEqual({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' });
      expect(mine.find((n) => n.path === '/pkg.Svc/Fail')?.sw8).toEqual({ traceId: 'trace.1.1700000000000', segmentId: 'segment.2.1700000000001', spanId: 4, service: 'shop' });
      expect(mine.filter((n) => n.sw8 || n.traceparent)).toHaveLength(2);
    }
    const slow = view.notable.find((n) => n.pid === server.pid && n.reason === 'slow')!;
    expect(slow.durationSeconds).toBeGreaterThanOrEqual(0.15);
    expect(slow.peer).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(view.drops.http2_hpack_desync ?? 0).toBe(0);
  });

  it('h2c: joins a HEADERS frame written in two writes (and read in two reads) instead of losing the direction', async () => {
    const server = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(server);
    const port = Number(await new Promise<string>((r) => server.stdout!.once('data', (d: Buffer) => r(d.toString()))));
    const client = spawn('python3', ['-c', SPLIT_CLIENT, String(port)], { stdio: ['pipe', 'pipe', 'inherit'] });
    children.push(client);
    const file = join(dir, 'h2c-split.json');
    await recordNetwork([server.pid!, client.pid!], file, async () => {
      client.stdin!.write('go\n');
      await new Promise((r) => client.stdout!.once('data', r));
    });
    const view = JSON.parse(readFileSync(file, 'utf8')) as NetworkView;
    console.log(`h2c split drops: ${JSON.stringify(view.drops)}`);
    const byPid = new Map(view.processes.map((p) => [p.pid, p]));
    expect(rows(byPid.get(server.pid!))).toEqual([['server', 'GET', 200, '2', false, null, 2], ['server', 'GET', 404, '2', false, null, 1]]);
    expect(rows(byPid.get(client.pid!))).toEqual([['client', 'GET', 200, '2', false, null, 2], ['client', 'GET', 404, '2', false, null, 1]]);
    expect(view.drops.http2_hpack_desync ?? 0).toBe(0);
    expect(view.drops.http2_frames_unfollowed ?? 0).toBe(0);
  });

  it('h2c with 40 concurrent streams: every request counted from both ends', async () => {
    const server = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(server);
    const port = Number(await new Promise<string>((r) => server.stdout!.once('data', (d: Buffer) => r(d.toString()))));
    const client = spawn(process.execPath, ['-e', CONCURRENT, String(port)], { stdio: ['pipe', 'pipe', 'inherit'] });
    children.push(client);
    const file = join(dir, 'h2c-concurrent.json');
    await recordNetwork([server.pid!, client.pid!], file, async () => {
      client.stdin!.write('go\n');
      await new Promise((r) => client.stdout!.once('data', r));
    });
    const view = JSON.parse(readFileSync(file, 'utf8')) as NetworkView;
    console.log(`h2c concurrent drops: ${JSON.stringify(view.drops)}`);
    const byPid = new Map(view.processes.map((p) => [p.pid, p]));
    expect(rows(byPid.get(server.pid!))).toEqual([['server', 'GET', 200, '2', false, null, 150], ['server', 'GET', 404, '2', false, null, 50]]);
    expect(rows(byPid.get(client.pid!))).toEqual([['client', 'GET', 200, '2', false, null, 150], ['client', 'GET', 404, '2', false, null, 50]]);
  });

  it('h2 over TLS (ALPN): nginx\'s requests from curl -k --http2 by method and status', async () => {
    const port = await freePort();
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    writeFileSync(join(dir, 'nginx.conf'), `
daemon off; master_process off; worker_processes 1; pid ${join(dir, 'nginx.pid')}; error_log ${join(dir, 'error.log')};
events { worker_connections 64; }
http {
  access_log off; client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  server {
    listen 127.0.0.1:${port} ssl http2; ssl_certificate ${join(dir, 'cert.pem')}; ssl_certificate_key ${join(dir, 'key.pem')};
    location = /ok { return 200 "ok"; }
    location = /err { return 500; }
    location / { return 404; }
  }
}
`);
    const nginx = spawn('/usr/sbin/nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: 'inherit' });
    children.push(nginx);
    for (let i = 0; ; i++) {
      try {
        await run('curl', ['-skf', '--http2', '-o', '/dev/null', `https://127.0.0.1:${port}/ok`]);
        break;
      } catch (err) {
        if (i > 100) throw err;
        await sleep(100);
      }
    }
    const file = join(dir, 'h2tls.json');
    const versions: string[] = [];
    await recordNetwork([nginx.pid!], file, async () => {
      // a connection per curl: each starts a fresh HPACK table
      for (let i = 0; i < 5; i++) versions.push((await run('curl', ['-sk', '--http2', '-o', '/dev/null', '-w', '%{http_version}', `https://127.0.0.1:${port}/ok`])).stdout);
      for (let i = 0; i < 3; i++) await run('curl', ['-sk', '--http2', '-o', '/dev/null', `https://127.0.0.1:${port}/nope`]);
      // several requests on one connection: the dynamic table carries over
      await run('curl', ['-sk', '--http2', '-o', '/dev/null', '-o', '/dev/null', '-o', '/dev/null', '-d', 'x', `https://127.0.0.1:${port}/err`, `https://127.0.0.1:${port}/err`, `https://127.0.0.1:${port}/err`]);
    });
    expect(versions).toEqual(['2', '2', '2', '2', '2']);
    const view = JSON.parse(readFileSync(file, 'utf8')) as NetworkView;
    console.log(`h2 tls drops: ${JSON.stringify(view.drops)}`);
    expect(rows(view.processes.find((p) => p.pid === nginx.pid))).toEqual([
      ['server', 'GET', 200, '2', true, null, 5],
      ['server', 'GET', 404, '2', true, null, 3],
      ['server', 'POST', 500, '2', true, null, 3],
    ]);
    expect(view.notable.filter((n) => n.reason === 'failed').map((n) => [n.method, n.path, n.status, n.tls])).toEqual([
      ['POST', '/err', 500, true], ['POST', '/err', 500, true], ['POST', '/err', 500, true],
    ]);
    expect(view.drops.http2_hpack_desync ?? 0).toBe(0);
  });
});
