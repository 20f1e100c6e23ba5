/**
 * The network sampler's two syscall hooks (real BPF, as root): tp_btf with
 * direct loads where the kernel has it (here), raw_tp with probe-reads when
 * asked (older kernels), each counting the same curl requests exactly, with
 * the server's own end and the client's as peer, and the TCP bytes.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetworkSampler } from '../../src/samplers/network-sampler.js';
import type { HttpExchange, TcpFlow } from '../../src/stacks/network-records.js';
import { bpfSkipReason, requirePrerequisites, toolSkipReason } from '../helpers/bpf-prerequisites.js';
import { freePort } from '../helpers/free-port.js';

const run = promisify(execFile);
const skip = bpfSkipReason() ?? toolSkipReason(['/usr/bin/curl'], 'needs curl (apt)');

const SERVER = `
const http = require('node:http');
http.createServer((req, res) => {
  if (req.url === '/ok') { res.end('ok'); return; }
  res.statusCode = 404; res.end('none');
}).listen(Number(process.argv[1]), '127.0.0.1', () => console.log('listening'));
`;

describe('network sampler hooks (real BPF, as root)', () => {
  beforeAll(() => requirePrerequisites(skip));
  let server: ChildProcess;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    server = spawn(process.execPath, ['-e', SERVER, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      server.stdout?.once('data', () => resolve());
      server.once('exit', (code) => reject(new Error(`server exited ${code}`)));
    });
  });
  afterAll(() => { server?.kill(); });

  it('counts the same requests with tp_btf and with raw_tp', async () => {
    const bytesRead: number[] = [];
    for (const attachMode of ['auto', 'raw_tp'] as const) {
      const sampler = createNetworkSampler({ targets: [server.pid!], attachMode, requestStacksHz: 0 });
      const exchanges: HttpExchange[] = [];
      const tcp: TcpFlow[] = [];
      const drops: Record<string, number> = {};
      const take = (): void => {
        const b = sampler.drain();
        exchanges.push(...b.exchanges);
        tcp.push(...b.tcp);
        for (const [k, v] of Object.entries(b.drops)) drops[k] = (drops[k] ?? 0) + v;
      };
      sampler.start();
      try {
        expect(sampler.attachedWith).toBe(attachMode === 'auto' ? 'tp_btf' : 'raw_tp');
        // 4 connections: 3 of them keep-alive with 4 requests each (3 ok, 1 missing), one single 404
        for (let c = 0; c < 3; c++) {
          const urls = ['/ok', '/ok', '/missing', '/ok'].map((p) => `http://127.0.0.1:${port}${p}`);
          await run('curl', ['-s', ...urls.flatMap((u) => ['-o', '/dev/null', u])]);
        }
        await run('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${port}/other`]);
        for (let i = 0; i < 50 && exchanges.length < 13; i++) {
          await sleep(200);
          take();
        }
        await sleep(300);
        take();
      } finally {
        sampler.stop();
      }
      const byStatus = (code: number): number => exchanges.filter((e) => e.statusCode === code).length;
      const bytes = tcp.reduce((n, f) => n + f.bytesReceived, 0);
      console.log(`${attachMode}: ${exchanges.length} exchanges (200: ${byStatus(200)}, 404: ${byStatus(404)}), ` +
        `${tcp.reduce((n, f) => n + f.opened, 0)} opened, ${bytes} bytes read, drops ${JSON.stringify(drops)}`);
      expect(exchanges).toHaveLength(13);
      expect(byStatus(200)).toBe(9);
      expect(byStatus(404)).toBe(4);
      for (const e of exchanges) {
        expect(e).toMatchObject({ tgid: server.pid, role: 'server', method: 'GET', tls: false });
        expect(e.local).toEqual({ address: '127.0.0.1', port });
        expect(e.peer?.address).toBe('127.0.0.1');
        expect(e.peer?.port).not.toBe(port);
        expect(e.durationNs).toBeGreaterThan(0);
      }
      // the three keep-alive connections: each request on one connection comes from one client port
      expect(new Set(exchanges.map((e) => e.peer?.port)).size).toBe(4);
      expect(tcp.every((f) => f.tgid === server.pid && f.role === 'server' && f.server.port === port)).toBe(true);
      expect(tcp.reduce((n, f) => n + f.opened, 0)).toBe(4);
      // each request line "GET /ok HTTP/1.1" and its headers: well over 40 bytes each
      expect(bytes).toBeGreaterThan(13 * 40);
      bytesRead.push(bytes);
    }
    // curl sends the same bytes both times: both hooks count them alike
    expect(bytesRead[1]).toBe(bytesRead[0]);
  }, 120_000);
});
