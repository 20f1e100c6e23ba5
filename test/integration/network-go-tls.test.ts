/**
 * `meshprof record --type network` of TLS that lives in the binary itself:
 * a Go HTTPS server (crypto/tls, built here with Debian's golang-go, plain,
 * stripped and PIE) and a C server linked statically against OpenSSL. curl sends
 * GETs that answer 200 and 404, POSTs that answer 500 and a 150 ms request;
 * the server's profile counts each exactly, as HTTPS, on its own address.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NetworkView } from '../../src/encode/network-view.js';
import { ElfFile } from '../../src/elf/elf-file.js';
import { findTlsBinary } from '../../src/symbolize/tls-binaries.js';
import { bpfSkipReason, requirePrerequisites, toolSkipReason } from '../helpers/bpf-prerequisites.js';
import { compileFixture } from '../helpers/compile-fixture.js';
import { recordNetwork } from '../helpers/record-network.js';
import { fixturesDir } from '../helpers/repo-root.js';

const run = promisify(execFile);
const LIBSSL_A = '/usr/lib/x86_64-linux-gnu/libssl.a';
const skip = bpfSkipReason() ?? toolSkipReason(['/usr/bin/go', '/usr/bin/curl', '/usr/bin/openssl', '/usr/bin/gdb', LIBSSL_A],
  'needs golang-go, curl, openssl, gdb and libssl-dev (apt)');

/** Starts `binary CERT KEY [ARGS]` (with `env` added to the environment) and waits for its "listening PORT". */
async function startServer(binary: string, dir: string, args: readonly string[] = [], env: Record<string, string> = {}): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(binary, [join(dir, 'cert.pem'), join(dir, 'key.pem'), ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\d+)\n/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`${binary} exited (${code}) before listening: ${out}`)));
  });
  return { child, port };
}

/** curl over HTTP/1.1 (no ALPN h2) to each url in turn, one connection when the server keeps it; the status codes. */
async function curl(urls: readonly string[], extra: readonly string[] = []): Promise<number[]> {
  const args = ['-sk', '--http1.1', '-w', '%{http_code}\n', ...extra, ...urls.flatMap((u) => ['-o', '/dev/null', u])];
  const { stdout } = await run('curl', args);
  return stdout.trim().split('\n').map(Number);
}

type Row = NetworkView['processes'][number]['http'][number];
function rows(view: NetworkView, pid: number): readonly Row[] {
  return view.processes.find((p) => p.pid === pid)?.http ?? [];
}
function count(rs: readonly Row[], side: string, method: string, status: number): number {
  return rs.filter((r) => r.side === side && r.method === method && r.status === status).reduce((n, r) => n + r.count, 0);
}

describe('record --type network: Go crypto/tls and statically linked OpenSSL (real BPF, as root)', () => {
  beforeAll(() => requirePrerequisites(skip));
  let dir = '';
  const go: Record<'plain' | 'stripped' | 'pie', string> = { plain: '', stripped: '', pie: '' };

  // asynchronous: the three builds take a minute on a busy machine, which a blocked worker would not survive
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshprof-go-tls-'));
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      '-days', '1', '-subj', '/CN=localhost']);
    writeFileSync(join(dir, 'main.go'), readFileSync(join(fixturesDir, 'go-tls', 'main.go')));
    writeFileSync(join(dir, 'go.mod'), 'module gotls\n\ngo 1.17\n');
    // the standard library only: private caches, no proxy, no network
    const env = { ...process.env, GOCACHE: join(dir, 'cache'), GOPATH: join(dir, 'gopath'), GOFLAGS: '-mod=mod', GOPROXY: 'off', HOME: dir };
    go.plain = join(dir, 'go-tls');
    go.stripped = join(dir, 'go-tls-stripped');
    go.pie = join(dir, 'go-tls-pie');
    await run('go', ['build', '-o', go.plain, '.'], { cwd: dir, env });
    await run('go', ['build', '-ldflags=-s -w', '-o', go.stripped, '.'], { cwd: dir, env });
    await run('go', ['build', '-buildmode=pie', '-o', go.pie, '.'], { cwd: dir, env });
  }, 300_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('locates tls.(*Conn).Read\'s returns as `go tool objdump` shows them, stripped or not', async () => {
    const { stdout: dump } = await run('go', ['tool', 'objdump', '-s', 'crypto/tls.\\(\\*Conn\\).Read$', go.plain]);
    const rets = [...dump.matchAll(/^\s+\S+:\d+\s+0x([0-9a-f]+)\s+c3\s+RET/gm)].map((m) => BigInt(`0x${m[1]}`));
    expect(rets.length).toBeGreaterThan(1);
    const elf = ElfFile.open(go.stripped);
    try {
      expect(elf.symbols('symtab')).toHaveLength(0);
    } finally {
      elf.close();
    }
    const plain = findTlsBinary(go.plain);
    const stripped = findTlsBinary(go.stripped);
    expect(plain.kind).toBe('go');
    expect(stripped.kind).toBe('go');
    if (plain.kind !== 'go' || stripped.kind !== 'go') return;
    expect(plain.sites.goVersion).toMatch(/^go1\.\d+/);
    // a non-PIE Go binary loads its text at 0x400000 from file offset 0
    expect(plain.sites.readReturns.map((o) => BigInt(o) + 0x400000n)).toEqual(rets);
    // the entry probes sit on the stack check's jbe, the first conditional branch
    const jbe = /^\s+\S+:\d+\s+0x([0-9a-f]+)\s+0f86[0-9a-f]+\s+JBE/m.exec(dump);
    expect(jbe).not.toBeNull();
    expect(BigInt(plain.sites.read) + 0x400000n).toBe(BigInt(`0x${jbe![1]}`));
    expect(stripped.sites.readReturns).toEqual(plain.sites.readReturns);
    expect(stripped.sites.read).toBe(plain.sites.read);
    expect(stripped.sites.write).toBe(plain.sites.write);
  });

  it('reads the fd at the offsets the binary\'s DWARF gives (tls.Conn -> net.conn -> netFD -> poll.FD.Sysfd)', async () => {
    const types = ['crypto/tls.Conn', 'net.conn', 'net.netFD', 'internal/poll.FD'];
    const { stdout } = await run('gdb', ['-batch', '-nx', '-ex', 'set language c', ...types.flatMap((t) => ['-ex', `ptype/o struct '${t}'`]), go.plain]);
    // one "type = struct NAME {" block per type, fields with their offsets
    const blocks = new Map(stdout.split(/(?=^\/\*.*\btype = struct )/m).map((b) => [/type = struct (\S+) \{/.exec(b)?.[1] ?? '', b]));
    const offset = (type: string, field: string): number | undefined => {
      const m = new RegExp(`^/\\*\\s+(\\d+)\\s+\\|\\s+\\d+ \\*/\\s+.*\\b${field};$`, 'm').exec(blocks.get(type) ?? '');
      return m ? Number(m[1]) : undefined;
    };
    // bpf/network.bpf.c: GO_IFACE_DATA (the interface's data word, after its itab) and GO_POLL_FD_SYSFD
    expect(offset('crypto/tls.Conn', 'conn')).toBe(0);
    expect(offset('net.conn', 'fd')).toBe(0);
    expect(offset('net.netFD', 'pfd')).toBe(0);
    expect(offset('internal/poll.FD', 'Sysfd')).toBe(16);
  });

  for (const variant of ['plain', 'stripped', 'pie'] as const) {
    it(`counts a Go HTTPS server's requests by method and status, as a server and as a client (${variant})`, async () => {
      const { child, port } = await startServer(go[variant], dir);
      const out = join(dir, `go-${variant}.json`);
      const u = (path: string): string => `https://127.0.0.1:${port}${path}`;
      try {
        await recordNetwork([child.pid!], out, async () => {
          // a new connection per request
          for (let i = 0; i < 4; i++) expect(await curl([u('/ok'), u('/nope')], ['-H', 'Connection: close'])).toEqual([200, 404]);
          // keep-alive: net/http reads the next request's first byte alone
          expect(await curl(['/ok', '/ok', '/ok', '/nope', '/slow', '/proxy', '/proxy', '/ok'].map(u)))
            .toEqual([200, 200, 200, 404, 200, 200, 200, 200]);
          expect(await curl([u('/fail'), u('/fail'), u('/fail')], ['-X', 'POST'])).toEqual([500, 500, 500]);
        });
      } finally {
        child.kill('SIGKILL');
      }
      const view = JSON.parse(readFileSync(out, 'utf8')) as NetworkView;
      const rs = rows(view, child.pid!);
      console.log(`go ${variant}: ${rs.map((r) => `${r.side} ${r.method} ${r.status} ${r.scheme} ${r.count}`).join(', ')}; drops ${JSON.stringify(view.drops)}`);
      // /ok 4 + 4, /slow, /proxy twice, and the two /ok the proxy asked itself
      expect(count(rs, 'server', 'GET', 200)).toBe(13);
      expect(count(rs, 'server', 'GET', 404)).toBe(5);
      expect(count(rs, 'server', 'POST', 500)).toBe(3);
      expect(count(rs, 'client', 'GET', 200)).toBe(2);
      expect(rs.reduce((n, r) => n + r.count, 0)).toBe(23);
      // TLS, and joined to the socket: the server's own address
      expect(rs.every((r) => r.scheme === 'https' && r.server === `127.0.0.1:${port}`)).toBe(true);
      const slow = view.notable.filter((n) => n.reason === 'slow');
      expect(slow.map((n) => `${n.method} ${n.path} ${n.status} ${n.tls}`)).toEqual(['GET /slow 200 true']);
      expect(slow[0]!.durationSeconds).toBeGreaterThanOrEqual(0.149);
      expect(slow[0]!.peer).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(view.notable.filter((n) => n.reason === 'failed').map((n) => `${n.method} ${n.path}`)).toEqual(['POST /fail', 'POST /fail', 'POST /fail']);
      expect(view.drops).toEqual({});
    });
  }

  it('counts a Go HTTPS server\'s HTTP/2 requests (ALPN h2, net/http\'s own) from curl --http2 by method and status', async () => {
    const { child, port } = await startServer(go.plain, dir, [], { GO_TLS_H2: '1' });
    const out = join(dir, 'go-h2.json');
    const u = (path: string): string => `https://127.0.0.1:${port}${path}`;
    const h2 = async (urls: readonly string[], extra: readonly string[] = []): Promise<string[]> => {
      const { stdout } = await run('curl', ['-sk', '--http2', '-w', '%{http_version} %{http_code}\n', ...extra, ...urls.flatMap((p) => ['-o', '/dev/null', p])]);
      return stdout.trim().split('\n');
    };
    try {
      await recordNetwork([child.pid!], out, async () => {
        // a connection per curl, each with a fresh HPACK table; several requests on one share it
        for (let i = 0; i < 3; i++) expect(await h2([u('/ok')])).toEqual(['2 200']);
        expect(await h2(['/ok', '/nope', '/ok', '/slow'].map(u))).toEqual(['2 200', '2 404', '2 200', '2 200']);
        expect(await h2([u('/fail'), u('/fail')], ['-X', 'POST'])).toEqual(['2 500', '2 500']);
      });
    } finally {
      child.kill('SIGKILL');
    }
    const view = JSON.parse(readFileSync(out, 'utf8')) as NetworkView;
    const rs = rows(view, child.pid!);
    console.log(`go h2: ${rs.map((r) => `${r.side} ${r.method} ${r.status} ${r.protocolVersion} ${r.scheme} ${r.count}`).join(', ')}; drops ${JSON.stringify(view.drops)}`);
    expect(count(rs, 'server', 'GET', 200)).toBe(6);
    expect(count(rs, 'server', 'GET', 404)).toBe(1);
    expect(count(rs, 'server', 'POST', 500)).toBe(2);
    expect(rs.reduce((n, r) => n + r.count, 0)).toBe(9);
    expect(rs.every((r) => r.protocolVersion === '2' && r.scheme === 'https' && r.server === `127.0.0.1:${port}`)).toBe(true);
    const slow = view.notable.filter((n) => n.reason === 'slow');
    expect(slow.map((n) => `${n.method} ${n.path} ${n.status} ${n.tls}`)).toEqual(['GET /slow 200 true']);
    expect(slow[0]!.durationSeconds).toBeGreaterThanOrEqual(0.149);
    expect(view.drops.http2_hpack_desync ?? 0).toBe(0);
    expect(view.drops.http2_frames_unfollowed ?? 0).toBe(0);
  });

  it('counts a Go server\'s TLS over a Unix socket without addresses, each call without a socket counted as go_tls_fd_unknown', async () => {
    const sock = join(dir, 'go-tls.sock');
    const { child } = await startServer(go.stripped, dir, ['unix', sock]);
    const out = join(dir, 'go-unix.json');
    try {
      await recordNetwork([child.pid!], out, async () => {
        for (let i = 0; i < 3; i++) expect(await curl(['https://localhost/ok'], ['--unix-socket', sock])).toEqual([200]);
        expect(await curl(['https://localhost/nope', 'https://localhost/ok'], ['--unix-socket', sock])).toEqual([404, 200]);
      });
    } finally {
      child.kill('SIGKILL');
    }
    const view = JSON.parse(readFileSync(out, 'utf8')) as NetworkView;
    const rs = rows(view, child.pid!);
    console.log(`go unix: ${rs.map((r) => `${r.side} ${r.method} ${r.status} ${r.server} ${r.count}`).join(', ')}; drops ${JSON.stringify(view.drops)}`);
    expect(count(rs, 'server', 'GET', 200)).toBe(4);
    expect(count(rs, 'server', 'GET', 404)).toBe(1);
    expect(rs.every((r) => r.scheme === 'https' && r.server === null)).toBe(true);
    // at least the request's Read and the response's Write of each of the 5
    expect(Object.keys(view.drops)).toEqual(['go_tls_fd_unknown']);
    expect(view.drops['go_tls_fd_unknown']).toBeGreaterThanOrEqual(10);
  });

  it('follows an HTTPS server that links OpenSSL statically, by the symbols of its own binary', async () => {
    const binary = compileFixture('static-tls.c', {
      libs: ['-Wl,-Bstatic', '-lssl', '-lcrypto', '-Wl,-Bdynamic', '-lpthread', '-ldl'], inputs: [LIBSSL_A],
    });
    expect(findTlsBinary(binary)).toEqual({ kind: 'openssl', path: binary });
    const { child, port } = await startServer(binary, dir);
    const out = join(dir, 'static.json');
    const u = (path: string): string => `https://127.0.0.1:${port}${path}`;
    try {
      expect(readFileSync(`/proc/${child.pid}/maps`, 'utf8')).not.toMatch(/libssl/);
      await recordNetwork([child.pid!], out, async () => {
        for (let i = 0; i < 4; i++) expect(await curl([u('/ok'), u('/nope')])).toEqual([200, 404]);
        expect(await curl([u('/fail'), u('/fail')], ['-X', 'POST'])).toEqual([500, 500]);
      });
    } finally {
      child.kill('SIGKILL');
    }
    const view = JSON.parse(readFileSync(out, 'utf8')) as NetworkView;
    const rs = rows(view, child.pid!);
    console.log(`static openssl: ${rs.map((r) => `${r.side} ${r.method} ${r.status} ${r.scheme} ${r.count}`).join(', ')}; drops ${JSON.stringify(view.drops)}`);
    expect(count(rs, 'server', 'GET', 200)).toBe(4);
    expect(count(rs, 'server', 'GET', 404)).toBe(4);
    expect(count(rs, 'server', 'POST', 500)).toBe(2);
    expect(rs.reduce((n, r) => n + r.count, 0)).toBe(10);
    expect(rs.every((r) => r.scheme === 'https' && r.server === `127.0.0.1:${port}`)).toBe(true);
    expect(view.drops).toEqual({});
  });
});
