/**
 * The network sampler's user side behind a fake BpfObject: which
 * generation the TCP counters are drained from, ring records decoded into
 * exchanges, drop deltas, TLS probes, and unreadable records counted.
 */
import { describe, expect, it } from 'vitest';
import type { BpfLink, BpfObject, UprobeTarget } from '../../src/kernel/index.js';
import { createNetworkSampler } from '../../src/samplers/network-sampler.js';
import { HTTP_EVENT_SIZE } from '../../src/samplers/network-layout.js';
import { fakeMap, type FakeMap } from '../helpers/fake-map.js';
import { fakeRingBuffer } from '../helpers/fake-ring-buffer.js';

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

function event(request: string, response: string, over: { tgid?: number; flags?: number; startNs?: bigint; endNs?: bigint } = {}): Buffer {
  const b = Buffer.alloc(HTTP_EVENT_SIZE);
  b.writeBigUInt64LE(over.startNs ?? 5_000n, 0);
  b.writeBigUInt64LE(over.endNs ?? 5_000n + 2_000_000n, 8);
  b.writeUInt32LE(over.tgid ?? 7, 16);
  b.writeUInt32LE(over.tgid ?? 7, 20);
  b.writeUInt16LE(2, 24);
  b.writeUInt16LE(80, 26);
  b.writeUInt16LE(40000, 28);
  b.writeUInt8(over.flags ?? 0, 31);
  b.set([127, 0, 0, 1], 32);
  b.set([127, 0, 0, 1], 48);
  b.writeUInt16LE(request.length, 64);
  b.writeUInt16LE(response.length, 66);
  b.write('srv', 68, 'latin1');
  b.write(request, 84, 'latin1');
  b.write(response, 180, 'latin1');
  return b;
}

interface FakeNetworkObject extends BpfObject {
  readonly maps: Map<string, FakeMap>;
  readonly records: Buffer[];
  /** struct h1_head_event records of the `h1_heads` ring. */
  readonly heads: Buffer[];
  readonly uprobes: UprobeTarget[];
  readonly attached: string[];
}

function fakeNetworkObject(): FakeNetworkObject {
  const maps = new Map<string, FakeMap>([
    ['control', fakeMap('control', 4, 8)],
    ['targets', fakeMap('targets', 4, 1)],
    ['tcp0', fakeMap('tcp0', 44, 64)],
    ['tcp1', fakeMap('tcp1', 44, 64)],
    ['drops', fakeMap('drops', 4, 16)], // two possible CPUs
    ['targets_epoch', fakeMap('targets_epoch', 4, 4)],
    ['h1_keep', fakeMap('h1_keep', 4, 16)],
    ['h1_pending', fakeMap('h1_pending', 24, 1040)],
  ]);
  const records: Buffer[] = [];
  const heads: Buffer[] = [];
  const link: BpfLink = { destroy: () => undefined };
  const obj: FakeNetworkObject = {
    name: 'network', maps, records, heads, uprobes: [], attached: [],
    setGlobal: () => undefined, resizeMap: () => undefined, setAutoload: () => undefined, reuseMap: () => undefined, load: () => undefined,
    map: (n) => maps.get(n)!,
    attachPerfEvent: () => link,
    attach: (p) => { obj.attached.push(p); return link; },
    attachUprobe: (_p, t) => {
      // BoringSSL has no _ex variants; a "broken" library lacks SSL_write itself
      if (t.binaryPath.includes('boring') && t.functionName?.endsWith('_ex')) throw new Error('attaching uprobe: ENOENT');
      if (t.binaryPath.includes('broken') && t.functionName === 'SSL_write') throw new Error('attaching uprobe: ENOENT');
      if (t.binaryPath.includes('broken') && t.offset === 0x999) throw new Error('attaching uprobe: EINVAL');
      obj.uprobes.push({ ...t, program: _p } as UprobeTarget);
      return link;
    },
    // exchanges come through `events`; `request_stacks` stays empty here
    ringBuffer: (n) => fakeRingBuffer(() => (n === 'events' ? records.splice(0) : n === 'h1_heads' ? heads.splice(0) : [])),
    destroy: () => undefined,
  };
  return obj;
}

function tcpKey(tgid: number): Buffer {
  const k = Buffer.alloc(44);
  k.writeUInt32LE(tgid, 0);
  k.writeUInt16LE(2, 6);
  k.writeUInt16LE(80, 8);
  k.set([10, 0, 0, 1], 12);
  k.set([10, 0, 0, 2], 28);
  return k;
}

function tcpValue(sent: number): Buffer {
  const v = Buffer.alloc(64);
  v.writeBigUInt64LE(BigInt(sent), 0);
  v.writeBigUInt64LE(1n, 16);
  return v;
}

function headRecord(startNs: bigint, text: string): Buffer {
  const b = Buffer.alloc(16 + text.length);
  b.writeBigUInt64LE(startNs, 0);
  b.writeUInt32LE(7, 8);
  b.writeUInt16LE(text.length, 12);
  b.write(text, 16, 'latin1');
  return b;
}

describe('network sampler (fake kernel)', () => {
  it('writes what is kept to h1_keep, and gives exchanges the trace context of their heads, one read a poll early too', () => {
    const o = fakeNetworkObject();
    const s = createNetworkSampler({ targets: [7], settleMs: 0, pollIntervalMs: 60_000 }, () => o);
    s.setKeeping({ minDurationNs: 100_000_000, minStatus: 500, headBytes: 512 });
    s.start();
    const cfg = o.maps.get('h1_keep')!.lookup(u32(0))!;
    expect([cfg.readBigUInt64LE(0), cfg.readUInt32LE(8), cfg.readUInt16LE(12)]).toEqual([100_000_000n, 512, 500]);
    const tp = 'traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    // a head whose exchange comes in the next poll, then one cut before its trace header
    o.heads.push(headRecord(1_000n, `GET /slow HTTP/1.1\r\n${tp}\r\n\r\n`));
    expect(s.drain().exchanges).toEqual([]);
    o.heads.push(headRecord(2_000n, 'GET /err HTTP/1.1\r\nX-Pad: aaaa'));
    o.records.push(event('GET /slow HTTP/1.1\r\n', 'HTTP/1.1 200 OK', { startNs: 1_000n, flags: 4 }),
      event('GET /err HTTP/1.1\r\n', 'HTTP/1.1 500 Err', { startNs: 2_000n, flags: 4 }));
    const b = s.drain();
    expect(b.exchanges.map((e) => [e.path, e.traceparent?.spanId])).toEqual([['/slow', 'b7ad6b7169203331'], ['/err', undefined]]);
    expect(b.drops).toEqual({ http1_head_truncated: 1 });
    // turned off: nothing copied from now on, what waited in the kernel cleared
    o.maps.get('h1_pending')!.update(Buffer.alloc(24), Buffer.alloc(1040));
    s.setKeeping(undefined);
    expect(o.maps.get('h1_keep')!.lookup(u32(0))!.readUInt32LE(8)).toBe(0);
    expect(o.maps.get('h1_pending')!.entries.size).toBe(0);
    s.stop();
  });

  it('drains the generation the kernel stopped writing, and decodes exchanges', () => {
    const o = fakeNetworkObject();
    const s = createNetworkSampler({ targets: [7], settleMs: 0, pollIntervalMs: 60_000 }, () => o);
    s.start();
    expect(o.attached).toEqual(['sys_enter_btf', 'sys_exit_btf', 'inet_sock_set_state', 'tcp_retransmit_skb']);
    expect(o.maps.get('targets')!.entries.has(u32(7).toString('hex'))).toBe(true);
    o.maps.get('tcp0')!.update(tcpKey(7), tcpValue(1000));
    o.maps.get('tcp1')!.update(tcpKey(7), tcpValue(5));
    o.records.push(event('GET /a?x=1 HTTP/1.1\r\n', 'HTTP/1.1 404 Not'), event('POST /b HTTP/1.1\r\n', '', { flags: 2 }), Buffer.alloc(10));
    const b = s.drain();
    // generation 0 was drained: the control entry now says 1
    expect(o.maps.get('control')!.lookup(u32(0))!.readUInt32LE(0)).toBe(1);
    expect(b.tcp.map((f) => [f.tgid, f.role, f.server, f.clientAddress, f.bytesSent, f.bytesReceived, f.opened])).toEqual([[7, 'server', { address: '10.0.0.1', port: 80 }, '10.0.0.2', 1000, 0, 1]]);
    expect(b.exchanges.map((e) => [e.method, e.path, e.statusCode, e.durationNs, e.comm, e.peer?.port])).toEqual([
      ['GET', '/a', 404, 2_000_000, 'srv', 40000], ['POST', '/b', undefined, 2_000_000, 'srv', 40000],
    ]);
    expect(b.drops).toEqual({ unparsed_http_event: 1 });
    const next = s.drain();
    expect(next.tcp.map((f) => f.bytesSent)).toEqual([5]);
    expect(next.exchanges).toEqual([]);
    expect(next.startTimeNs).toBe(b.startTimeNs + b.durationNs);
    s.stop();
  });

  it('reports the growth of the kernel\'s drop counters by reason', () => {
    const o = fakeNetworkObject();
    const perCpu = (a: number, b: number): Buffer => { const v = Buffer.alloc(16); v.writeBigUInt64LE(BigInt(a), 0); v.writeBigUInt64LE(BigInt(b), 8); return v; };
    o.maps.get('drops')!.update(u32(0), perCpu(3, 0));
    const s = createNetworkSampler({ targets: 'all', settleMs: 0, pollIntervalMs: 60_000 }, () => o);
    s.start();
    o.maps.get('drops')!.update(u32(0), perCpu(3, 4));
    o.maps.get('drops')!.update(u32(3), perCpu(1, 1));
    expect(s.drain().drops).toEqual({ events_ring_full: 4, response_without_request: 2 });
    expect(s.drain().drops).toEqual({});
    s.stop();
  });

  it('probes each libssl once, BoringSSL without the _ex variants, and skips a library missing SSL_write with a warning', () => {
    const o = fakeNetworkObject();
    const warnings: string[] = [];
    const log = { debug: () => undefined, info: () => undefined, warn: (m: unknown) => void warnings.push(String(m)), error: () => undefined };
    const s = createNetworkSampler({ targets: [7], pollIntervalMs: 60_000, log }, () => o);
    s.start();
    expect(s.addTlsLibraries(['/lib/libssl.so.3', '/lib/libssl.so.3', '/opt/boring/libssl.so', '/opt/broken/libssl.so'])).toBe(2);
    expect(s.addTlsLibraries(['/lib/libssl.so.3'])).toBe(0);
    expect(s.tlsLibraries).toEqual(['/lib/libssl.so.3', '/opt/boring/libssl.so']);
    expect(o.uprobes.filter((u) => u.binaryPath === '/opt/boring/libssl.so').map((u) => `${u.functionName}${u.retprobe ? ' ret' : ''}`)).toEqual([
      'SSL_set_fd', 'SSL_read', 'SSL_read ret', 'SSL_write', 'SSL_write ret',
    ]);
    expect(o.uprobes.filter((u) => u.binaryPath === '/lib/libssl.so.3').map((u) => `${u.functionName}${u.retprobe ? ' ret' : ''}`)).toEqual([
      'SSL_set_fd', 'SSL_read', 'SSL_read ret', 'SSL_read_ex', 'SSL_read_ex ret', 'SSL_write', 'SSL_write ret', 'SSL_write_ex', 'SSL_write_ex ret',
    ]);
    expect(warnings).toEqual([expect.stringContaining('tls of /opt/broken/libssl.so not followed')]);
    s.stop();
  });

  it('probes Go crypto/tls at its file offsets: Write, each RET of Read, then Read; once per binary', () => {
    const o = fakeNetworkObject();
    const warnings: string[] = [];
    const log = { debug: () => undefined, info: () => undefined, warn: (m: unknown) => void warnings.push(String(m)), error: () => undefined };
    const s = createNetworkSampler({ targets: [7], pollIntervalMs: 60_000, log }, () => o);
    s.start();
    const sites = { path: '/srv/app', goVersion: 'go1.19.8', write: 0x1000, read: 0x2000, readReturns: [0x2040, 0x2090] };
    expect(s.addGoTls(sites)).toBe(true);
    expect(s.addGoTls(sites)).toBe(true);
    const probes = (path: string): string[] => o.uprobes.filter((u) => u.binaryPath === path)
      .map((u) => `${(u as UprobeTarget & { program: string }).program}@${u.offset?.toString(16)}${u.retprobe ? ' ret' : ''}`);
    // no uretprobe anywhere: it would corrupt goroutine stacks
    expect(probes('/srv/app')).toEqual(['go_tls_write@1000', 'go_tls_read_return@2040', 'go_tls_read_return@2090', 'go_tls_read_enter@2000']);
    expect(s.addGoTls({ ...sites, path: '/srv/broken', readReturns: [0x999] })).toBe(false);
    expect(warnings).toEqual([expect.stringContaining('go tls of /srv/broken not followed: attaching uprobe: EINVAL')]);
    expect(s.tlsLibraries).toEqual(['/srv/app']);
    s.stop();
  });

  it('falls back to the raw_tp syscall programs where tp_btf does not load, and says so', () => {
    const objects: FakeNetworkObject[] = [];
    const warnings: string[] = [];
    const log = { debug: () => undefined, info: () => undefined, warn: (m: unknown) => void warnings.push(String(m)), error: () => undefined };
    const s = createNetworkSampler({ targets: [7], pollIntervalMs: 60_000, log }, () => {
      const o = fakeNetworkObject();
      const autoload = new Map<string, boolean>();
      o.setAutoload = (p, on) => { autoload.set(p, on); };
      // a kernel without bpf_rdonly_cast: the tp_btf programs fail the verifier
      o.load = () => { if (autoload.get('sys_enter_btf')) throw new Error('loading network: sys_enter_btf: Invalid argument'); };
      objects.push(o);
      return o;
    });
    s.start();
    expect(s.attachedWith).toBe('raw_tp');
    expect(objects).toHaveLength(2);
    expect(objects[1]!.attached).toEqual(['sys_enter', 'sys_exit', 'inet_sock_set_state', 'tcp_retransmit_skb']);
    expect(warnings).toEqual([expect.stringContaining('tp_btf/sys_enter unavailable')]);
    s.stop();
    expect(s.attachedWith).toBeUndefined();
  });

  it('bumps targets_epoch after each change of targets, so cached answers are asked again', () => {
    const o = fakeNetworkObject();
    const s = createNetworkSampler({ targets: [7], pollIntervalMs: 60_000 }, () => o);
    s.start();
    const epoch = (): number | undefined => o.maps.get('targets_epoch')!.lookup(u32(0))?.readUInt32LE(0);
    expect(epoch()).toBeUndefined();
    s.setTargets([7, 8]);
    expect(epoch()).toBe(1);
    expect(o.maps.get('targets')!.entries.has(u32(8).toString('hex'))).toBe(true);
    s.setTargets('all');
    expect(epoch()).toBe(2);
    s.stop();
  });
});
