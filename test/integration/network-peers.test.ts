/**
 * Peers that are not loopback, and hostile input: a Node server in its own
 * network namespace behind a veth pair, called by a Node client on the host
 * (both followed), so every address the metrics name is a real interface's;
 * a 1 MB request header to nginx, which answers 400; and HTTP/2 without TLS
 * (h2c), whose connections are marked, whose bytes are counted and whose
 * requests are decoded.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NetworkView } from '../../src/encode/network-view.js';
import { bpfSkipReason, requirePrerequisites, toolSkipReason } from '../helpers/bpf-prerequisites.js';
import { recordNetwork } from '../helpers/record-network.js';
import { startNginxStack, type NginxStack } from '../helpers/start-nginx-stack.js';

const run = promisify(execFile);
const skip = bpfSkipReason() ?? toolSkipReason(['/usr/sbin/ip', '/usr/sbin/nginx', '/usr/bin/curl'], 'needs iproute2, nginx and curl (apt)');

/** Records the network of pids while load runs; returns the .json view. */
async function recordJson(pids: readonly number[], file: string, load: () => Promise<void>): Promise<{ view: NetworkView; stderr: string }> {
  const stderr = await recordNetwork(pids, file, load);
  return { view: JSON.parse(readFileSync(file, 'utf8')) as NetworkView, stderr };
}

const CLIENT = `
const http = require('node:http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
let left = Number(process.argv[2]);
const one = () => http.get({ host: process.argv[1], port: 8080, path: '/item', agent }, (res) => {
  res.resume();
  res.on('end', () => (--left > 0 ? one() : (agent.destroy(), console.log('done'))));
});
process.stdin.once('data', one);
`;

describe('network peers over a veth pair, a 1 MB header, HTTP/2', () => {
  beforeAll(() => requirePrerequisites(skip));
  const ns = `mpnet${process.pid}`;
  const subnet = `10.${200 + (process.pid % 50)}.${process.pid % 250}`;
  let server: ChildProcess | undefined;
  let stack: NginxStack | undefined;
  let dir = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshprof-peers-'));
    const ip = (...args: string[]): void => { execFileSync('ip', args, { stdio: 'inherit' }); };
    ip('netns', 'add', ns);
    ip('link', 'add', `${ns}a`, 'type', 'veth', 'peer', 'name', `${ns}b`);
    ip('link', 'set', `${ns}b`, 'netns', ns);
    ip('addr', 'add', `${subnet}.1/24`, 'dev', `${ns}a`);
    ip('link', 'set', `${ns}a`, 'up');
    ip('-n', ns, 'addr', 'add', `${subnet}.2/24`, 'dev', `${ns}b`);
    ip('-n', ns, 'link', 'set', `${ns}b`, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    server = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e',
      `require('node:http').createServer((q, s) => s.end('x')).listen(8080, '${subnet}.2', () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve, reject) => {
      server!.stdout!.once('data', resolve);
      server!.once('exit', (c) => reject(new Error(`server in ${ns} exited (${c})`)));
    });
    stack = await startNginxStack();
  });
  afterAll(async () => {
    server?.kill('SIGKILL');
    await stack?.stop();
    try { execFileSync('ip', ['netns', 'delete', ns]); } catch { /* gone */ }
    try { execFileSync('ip', ['link', 'delete', `${ns}a`], { stdio: 'ignore' }); } catch { /* went with the namespace */ }
    rmSync(dir, { recursive: true, force: true });
  });

  it('names the server by its veth address and port, and the client by its own address', async () => {
    const client = spawn(process.execPath, ['-e', CLIENT, `${subnet}.2`, '40'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const { view } = await recordJson([server!.pid!, client.pid!], join(dir, 'peers.json'), async () => {
      client.stdin!.write('go\n');
      await new Promise((r) => client.stdout!.once('data', r));
    });
    const byPid = new Map(view.processes.map((p) => [p.pid, p]));
    const srv = byPid.get(server!.pid!)!;
    const cli = byPid.get(client.pid!)!;
    expect(srv.http.map((r) => [r.side, r.method, r.status, r.server, r.count])).toEqual([['server', 'GET', 200, `${subnet}.2:8080`, 40]]);
    expect(cli.http.map((r) => [r.side, r.method, r.status, r.server, r.count])).toEqual([['client', 'GET', 200, `${subnet}.2:8080`, 40]]);
    expect(srv.tcp.map((t) => [t.side, t.server, t.client, t.opened])).toEqual([['server', `${subnet}.2:8080`, `${subnet}.1`, 2]]);
    expect(cli.tcp.map((t) => [t.side, t.server, t.client])).toEqual([['client', `${subnet}.2:8080`, null]]);
    expect(cli.tcp[0]!.bytesReceived).toBe(srv.tcp[0]!.bytesSent);
    expect(view.edges).toContainEqual(expect.objectContaining({ from: `${cli.name} (pid ${client.pid})`, to: `${srv.name} (pid ${server!.pid})`, seenBy: 'client', requests: 40 }));
  });

  it('counts a 1 MB request header answered 400, and nothing breaks', async () => {
    const { view } = await recordJson([stack!.worker], join(dir, 'big.json'), async () => {
      // over a raw socket: a 1 MB header does not fit in curl's argv
      const status = await new Promise<string>((resolve) => {
        let got = '';
        const s = connect(stack!.httpPort, '127.0.0.1', () => {
          s.write(`GET /local HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(1 << 20)}\r\n\r\n`);
        });
        s.on('data', (d: Buffer) => { got += d.toString('latin1'); });
        // nginx may reset the connection with the header still arriving: what it answered before counts
        s.on('error', () => {});
        s.on('close', () => resolve(got.slice(0, 12)));
      });
      expect(status).toBe('HTTP/1.1 400');
      expect((await run('curl', ['-s', `http://127.0.0.1:${stack!.httpPort}/local`])).stdout).toBe('local');
    });
    const rows = view.processes.find((p) => p.pid === stack!.worker)!.http.map((r) => [r.method, r.status, r.count]);
    expect(rows).toContainEqual(['GET', 400, 1]);
    expect(rows).toContainEqual(['GET', 200, 1]);
  });

  it('marks HTTP/2 connections by their preface, counts their bytes and their streams, with no HTTP/1 exchange made up', async () => {
    const h2server = spawn(process.execPath, ['-e', `const h = require('node:http2').createServer((q, s) => s.end('ok'));
h.listen(0, '127.0.0.1', () => console.log(h.address().port))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const port = Number(await new Promise<string>((r) => h2server.stdout!.once('data', (d: Buffer) => r(d.toString()))));
      const h2client = spawn(process.execPath, ['-e', `process.stdin.once('data', () => {
  const c = require('node:http2').connect('http://127.0.0.1:${port}');
  let left = 20;
  const one = () => { const r = c.request({ ':path': '/h2' }); r.resume(); r.on('end', () => (--left > 0 ? one() : (c.close(), console.log('done')))); r.end(); };
  one();
});`], { stdio: ['pipe', 'pipe', 'inherit'] });
      const { view } = await recordJson([h2server.pid!, h2client.pid!], join(dir, 'h2.json'), async () => {
        h2client.stdin!.write('go\n');
        await new Promise((r) => h2client.stdout!.once('data', r));
      });
      const byPid = new Map(view.processes.map((p) => [p.pid, p]));
      const srv = byPid.get(h2server.pid!)!;
      const cli = byPid.get(h2client.pid!)!;
      // the 20 requests, from their HPACK-decoded headers (no HTTP/1 exchange made up from h2 bytes)
      expect(srv.http.map((r) => [r.side, r.method, r.status, r.protocolVersion, r.count])).toEqual([['server', 'GET', 200, '2', 20]]);
      expect(cli.http.map((r) => [r.side, r.method, r.status, r.protocolVersion, r.count])).toEqual([['client', 'GET', 200, '2', 20]]);
      const h2srv = srv.tcp.filter((t) => t.protocol === 'http2');
      const h2cli = cli.tcp.filter((t) => t.protocol === 'http2');
      expect(h2srv.map((t) => [t.side, t.server])).toEqual([['server', `127.0.0.1:${port}`]]);
      expect(h2cli.map((t) => [t.side, t.server])).toEqual([['client', `127.0.0.1:${port}`]]);
      // 20 requests' HEADERS and DATA frames went after the preface
      expect(h2srv[0]!.bytesReceived).toBeGreaterThan(20 * 9);
      expect(h2cli[0]!.bytesReceived).toBeGreaterThan(20 * 9);
      // each request opened one stream, seen from both ends: the server reads the client's HEADERS, the client writes them
      console.log(`h2 streams: server ${h2srv[0]!.http2Streams}, client ${h2cli[0]!.http2Streams}; drops ${JSON.stringify(view.drops)}`);
      expect(h2srv[0]!.http2Streams).toBe(20);
      expect(h2cli[0]!.http2Streams).toBe(20);
    } finally {
      h2server.kill('SIGKILL');
    }
  });
});
