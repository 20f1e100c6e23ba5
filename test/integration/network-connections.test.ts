/**
 * Connection life cycles the network sampler must get right: a keep-alive
 * connection that outlives the recording still has an RTT (sampled while it
 * carries data, not only at its close), and a second connect() on a
 * non-blocking socket (it returns 0 once the handshake is done) is the same
 * connection: not opened twice, its request not thrown away; and a server
 * that exits mid-request while its client keeps the connection open has the
 * request counted unanswered (the orphaned socket's FIN_WAIT2 is a timewait
 * entry: the socket itself reaches TCP_CLOSE at once, which flushes it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NetworkView } from '../../src/encode/network-view.js';
import { bpfSkipReason, requirePrerequisites, toolSkipReason } from '../helpers/bpf-prerequisites.js';
import { recordNetwork } from '../helpers/record-network.js';

const skip = bpfSkipReason() ?? toolSkipReason(['/usr/bin/python3'], 'needs python3 (apt)');

/** Keep-alive client: on 'go', one connection (maxSockets 1), a request every 100 ms until 'stop'; prints its local port once. */
const KEEPALIVE_CLIENT = `
const http = require('node:http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
let stop = false, n = 0;
const one = () => http.get({ host: '127.0.0.1', port: Number(process.argv[1]), path: '/live', agent }, (res) => {
  res.resume();
  res.on('end', () => {
    if (++n === 1) console.log('first');
    if (stop) console.log('stopped ' + n); else setTimeout(one, 100);
  });
});
process.stdin.on('data', (d) => { if (String(d).startsWith('go')) one(); else stop = true; });
`;

/** Non-blocking connect, the request written, connect() again (0: connected), the response read. */
const TWICE_CLIENT = `
import errno, select, socket, sys
sys.stdin.readline()
addr = ('127.0.0.1', int(sys.argv[1]))
s = socket.socket()
s.setblocking(False)
first = s.connect_ex(addr)
select.select([], [s], [], 10)
s.send(b'GET /twice HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')
second = s.connect_ex(addr)
s.setblocking(True)
got = s.recv(64)
print(errno.errorcode.get(first), second, got[:12].decode(), flush=True)
sys.stdin.readline()
`;

/** Sends one request, says whether the server closed ('eof'), then keeps its end open until the next line. */
const PATIENT_CLIENT = `
import socket, sys
port = int(sys.argv[1])
sys.stdin.readline()
s = socket.create_connection(('127.0.0.1', port))
s.sendall(b'GET /gone HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')
print('eof' if s.recv(64) == b'' else 'data', flush=True)
sys.stdin.readline()
`;

function lineFrom(child: ChildProcess, match: (line: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString();
      const line = buf.split('\n').find(match);
      if (line !== undefined) {
        child.stdout!.off('data', onData);
        resolve(line);
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (c) => reject(new Error(`child exited (${c}) before printing the line; got ${JSON.stringify(buf)}`)));
  });
}

describe('network connections: RTT while alive, a second connect()', () => {
  beforeAll(() => requirePrerequisites(skip));
  let server: ChildProcess | undefined;
  let port = 0;
  let dir = '';
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshprof-conns-'));
    server = spawn(process.execPath, ['-e', `const s = require('node:http').createServer((q, r) => r.end('ok'));
s.keepAliveTimeout = 600000;
s.listen(0, '127.0.0.1', () => console.log(s.address().port));`], { stdio: ['ignore', 'pipe', 'inherit'] });
    port = Number(await lineFrom(server, (l) => /^\d+$/.test(l)));
  });
  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
    server?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives a keep-alive connection that stays open past the recording an RTT on both sides', async () => {
    const client = spawn(process.execPath, ['-e', KEEPALIVE_CLIENT, String(port)], { stdio: ['pipe', 'pipe', 'inherit'] });
    children.push(client);
    const file = join(dir, 'live.json');
    let requests = 0;
    await recordNetwork([server!.pid!, client.pid!], file, async () => {
      client.stdin!.write('go\n');
      await lineFrom(client, (l) => l === 'first');
      // a few seconds of traffic: an RTT sample at most once a second per connection
      await new Promise((r) => setTimeout(r, 2500));
      client.stdin!.write('stop\n');
      requests = Number((await lineFrom(client, (l) => l.startsWith('stopped '))).split(' ')[1]);
    });
    const view = JSON.parse(readFileSync(file, 'utf8')) as NetworkView;
    const byPid = new Map(view.processes.map((p) => [p.pid, p]));
    const cli = byPid.get(client.pid!)!.tcp.filter((t) => t.server === `127.0.0.1:${port}`);
    const srv = byPid.get(server!.pid!)!.tcp.filter((t) => t.server === `127.0.0.1:${port}`);
    console.log(`keep-alive: ${requests} requests; client ${JSON.stringify(cli)}; server ${JSON.stringify(srv)}`);
    expect(byPid.get(client.pid!)!.http.map((r) => [r.method, r.status, r.count])).toEqual([['GET', 200, requests]]);
    // one connection, still open when the recording stopped: no close gave the RTT
    expect(cli.map((t) => [t.opened, t.closed])).toEqual([[1, 0]]);
    expect(srv.map((t) => [t.opened, t.closed])).toEqual([[1, 0]]);
    // loopback: above zero, well under a second
    for (const t of [...cli, ...srv]) {
      expect(t.rttSeconds).not.toBeNull();
      expect(t.rttSeconds!).toBeGreaterThan(0);
      expect(t.rttSeconds!).toBeLessThan(1);
    }
  });

  it('takes a second connect() returning 0 as the same connection: opened once, its request answered', async () => {
    const client = spawn('python3', ['-c', TWICE_CLIENT, String(port)], { stdio: ['pipe', 'pipe', 'inherit'] });
    children.push(client);
    const file = join(dir, 'twice.json');
    let said = '';
    await recordNetwork([server!.pid!, client.pid!], file, async () => {
      client.stdin!.write('go\n');
      said = await lineFrom(client, (l) => l.includes('HTTP/'));
    });
    // the kernel's answers: EINPROGRESS, then 0 from the second connect()
    expect(said).toBe('EINPROGRESS 0 HTTP/1.1 200');
    const view = JSON.parse(readFileSync(file, 'utf8')) as NetworkView;
    const cli = view.processes.find((p) => p.pid === client.pid)!;
    console.log(`twice: ${JSON.stringify(cli.tcp)}; drops ${JSON.stringify(view.drops)}`);
    expect(cli.http.map((r) => [r.side, r.method, r.status, r.count])).toEqual([['client', 'GET', 200, 1]]);
    expect(cli.tcp.map((t) => [t.side, t.server, t.opened])).toEqual([['client', `127.0.0.1:${port}`, 1]]);
    expect(view.drops.connection_reused ?? 0).toBe(0);
    expect(view.drops.response_without_request ?? 0).toBe(0);
  });

  it('counts a request unanswered when its server exits while the client keeps the connection open', async () => {
    const quitter = spawn(process.execPath, ['-e', `const s = require('node:net').createServer((c) => c.once('data', () => process.exit(0)));
s.listen(0, '127.0.0.1', () => console.log(s.address().port));`], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(quitter);
    const quitPort = Number(await lineFrom(quitter, (l) => /^\d+$/.test(l)));
    const client = spawn('python3', ['-c', PATIENT_CLIENT, String(quitPort)], { stdio: ['pipe', 'pipe', 'inherit'] });
    children.push(client);
    const file = join(dir, 'exit.json');
    let said = '';
    await recordNetwork([quitter.pid!, client.pid!], file, async () => {
      client.stdin!.write('go\n');
      said = await lineFrom(client, (l) => l === 'eof' || l === 'data');
    });
    expect(said).toBe('eof');
    const view = JSON.parse(readFileSync(file, 'utf8')) as NetworkView;
    const notable = view.notable.map((n) => `${n.reason} ${n.pid} ${n.side} ${n.method} ${n.path} ${n.status}`);
    console.log(`exit: notable ${JSON.stringify(notable)}; drops ${JSON.stringify(view.drops)}`);
    expect(notable).toEqual([`no_response ${quitter.pid} server GET /gone null`]);
    expect(view.processes.find((p) => p.pid === quitter.pid)!.http.map((r) => [r.side, r.method, r.status, r.count])).toEqual([['server', 'GET', null, 1]]);
  });
});
