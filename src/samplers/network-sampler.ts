import { forEachRingRecord, onlineCpus, openBpfObject, ringRecordViews } from '../kernel/index.js';
import type { BpfLink, BpfObject, BpfObjectFactory, BpfRingBuffer } from '../kernel/index.js';
import { type Logger } from '../log/logger.js';
import type { HttpExchange, RawNetworkBatch, RequestKeeping, RequestStackSample, TcpFlow } from '../stacks/network-records.js';
import { normalizeTargets, type DropCounts, type NormalizedTargets, type TargetSelection } from '../stacks/raw-stacks.js';
import { createH2ExchangeTracker } from './h2-exchanges.js';
import type { GoTlsSites } from './go-tls-sites.js';
import { createRequestHeadInterner, parseStatusHead, type RequestHeadInterner } from './http-head.js';
import {
  createHttpEventDecoder, decodeH1Head, decodeH2HeaderEvent, decodeRequestStack, decodeTcpKey, decodeTcpValue, encodeH1KeepConfig,
  NETWORK_DROP_REASONS, type HttpEventRecord,
} from './network-layout.js';
import { parseHeadTraceContext, type RequestTraceContext } from './trace-headers.js';
import { encodeOnCpuControl, u32Bytes } from './oncpu-layout.js';
import { addDropDeltas, readDropTotals, applyTargets, syncTargetMap } from './sampler-maps.js';
import { startWithTracepointFallback, type TracepointAttachMode } from './tracepoint-attach.js';
import { createWallClock, sleepSync } from './wall-clock.js';

/** Settings of the network sampler; every field has a default. */
export interface NetworkSamplerOptions {
  /** Processes to follow; default 'all'. */
  readonly targets?: TargetSelection;
  /** A tgid never followed, normally the agent's own; default process.pid. */
  readonly selfTgid?: number;
  /** How often the event ring buffer (8 MiB, about 40k exchanges) is read between drains; default 50 ms. */
  readonly pollIntervalMs?: number;
  /** Exchanges held between two drains at most; past it they are counted as 'exchanges_buffer_full'. Default 200k. */
  readonly maxPendingExchanges?: number;
  readonly settleMs?: number;
  /**
   * On-CPU samples per second of threads serving a request (server side), for
   * the stacks of slow requests; 0 turns them off. Default 99.
   */
  readonly requestStacksHz?: number;
  /**
   * Which syscall hooks: tp_btf (direct loads; 6.2+ for the socket walk), raw_tp
   * (4.17+), or the first that loads (default).
   */
  readonly attachMode?: TracepointAttachMode;
  /** Which exchanges may be kept (their HTTP/1.x heads are copied for trace context); default none. */
  readonly keeping?: RequestKeeping;
  readonly log?: Logger;
}

/** Requests with stacks waiting for their response at most; the oldest go first, counted. */
const MAX_WAITING_STACKS = 4096;
/** Request heads kept from one poll to the next (their exchange came after the poll) at most; the oldest go first, counted. */
const MAX_WAITING_HEADS = 16384;

/**
 * The network sampler: HTTP/1.x exchanges, HTTP/2 ones (header frames
 * HPACK-decoded here, h2-exchanges.ts) and TCP counters of the targeted
 * processes (bpf/network.bpf.c). Raw tracepoints (Linux 4.17+) for the
 * syscalls and the TCP state changes, uprobes for TLS libraries; the HTTP/2
 * frame walk needs bpf_loop (5.17+).
 */
export interface NetworkSampler {
  start(): void;
  /** Everything since the previous drain: exchanges, the TCP counters' window, drops. */
  drain(): RawNetworkBatch;
  setTargets(targets: TargetSelection): void;
  /**
   * Puts uprobes on SSL_read/SSL_write (and _ex) and SSL_set_fd of each
   * libssl file not probed yet; returns how many files were probed now. A
   * file without those symbols is skipped with a warning.
   */
  addTlsLibraries(paths: readonly string[]): number;
  /** The files whose TLS is probed so far: libssl, binaries with OpenSSL linked in, Go binaries. */
  readonly tlsLibraries: readonly string[];
  /**
   * Puts uprobes on crypto/tls.(*Conn).Write, Read and each of Read's
   * returns in one Go binary (Go 1.17+, amd64), unless probed already;
   * false (with a warning) when they cannot be attached.
   */
  addGoTls(sites: GoTlsSites): boolean;
  /**
   * Which exchanges may be kept from now on: the kernel copies the HTTP/1.x
   * request heads of those (undefined: of none) and their trace headers
   * fill sw8/traceparent/zipkin.
   */
  setKeeping(keeping: RequestKeeping | undefined): void;
  stop(): void;
  /** The syscall hooks in use once started: 'tp_btf' or 'raw_tp'. */
  readonly attachedWith: 'tp_btf' | 'raw_tp' | undefined;
}

/** The syscall programs of each hook (bpf/network.bpf.c). */
const syscallPrograms = { tp_btf: ['sys_enter_btf', 'sys_exit_btf'], raw_tp: ['sys_enter', 'sys_exit'] } as const;

// The _ex variants are OpenSSL 1.1.1+; BoringSSL (Envoy's) has none.
const uprobes = [
  { fn: 'SSL_read', enter: 'ssl_read_enter', exit: 'ssl_read_exit', optional: false },
  { fn: 'SSL_read_ex', enter: 'ssl_read_ex_enter', exit: 'ssl_read_exit', optional: true },
  { fn: 'SSL_write', enter: 'ssl_write_enter', exit: 'ssl_write_exit', optional: false },
  { fn: 'SSL_write_ex', enter: 'ssl_write_ex_enter', exit: 'ssl_write_exit', optional: true },
] as const;

/** One kernel record (its bytes in buf) as an exchange; undefined (and counted) when its bytes do not parse. */
function toExchange(
  r: HttpEventRecord, buf: Buffer, heads: RequestHeadInterner, monoToWallNs: bigint,
  stacks: readonly RequestStackSample[] | undefined, trace?: RequestTraceContext,
): HttpExchange | undefined {
  const req = heads.parse(buf, r.requestStart, r.requestEnd);
  if (!req) return undefined;
  const status = r.noResponse ? undefined : parseStatusHead(buf, r.responseStart, r.responseEnd);
  if (!r.noResponse && !status) return undefined;
  const ex: HttpExchange = {
    tgid: r.tgid, tid: r.tid, comm: r.comm, role: r.role, tls: r.tls,
    method: req.method, path: req.path, pathTruncated: req.pathTruncated,
    protocolVersion: status?.version ?? (req.version || '1.1'),
    statusCode: status?.statusCode,
    startTimeNs: r.startNs + monoToWallNs,
    durationNs: r.durationNs,
    local: r.local, peer: r.peer,
    ...trace,
  };
  return stacks ? { ...ex, stacks } : ex;
}

/** Creates a network sampler (Linux 5.17+: the HTTP/2 frame walk uses bpf_loop). */
export function createNetworkSampler(
  opts: NetworkSamplerOptions = {},
  open: BpfObjectFactory = (name) => openBpfObject(name, opts.log ? { log: opts.log } : {}),
): NetworkSampler {
  const clock = createWallClock();
  const maxPending = opts.maxPendingExchanges ?? 200_000;
  let obj: BpfObject | undefined;
  let ring: BpfRingBuffer | undefined;
  let stackRing: BpfRingBuffer | undefined;
  let h2Ring: BpfRingBuffer | undefined;
  let headRing: BpfRingBuffer | undefined;
  // request (tgid, kernel start time) -> its head (for trace context), until its exchange is read
  let traceHeads = new Map<string, Buffer>();
  // the previous poll's heads still waiting for their exchange
  let lastTraceHeads = new Map<string, Buffer>();
  let keeping = opts.keeping;
  const h2 = createH2ExchangeTracker();
  const events = createHttpEventDecoder();
  const heads = createRequestHeadInterner();
  // request (tgid, kernel start time) -> its samples so far
  const waiting = new Map<string, RequestStackSample[]>();
  let timer: NodeJS.Timeout | undefined;
  let attachedWith: 'tp_btf' | 'raw_tp' | undefined;
  let targetsEpoch = 0;
  const links: BpfLink[] = [];
  const probed = new Map<string, BpfLink[]>();
  let targets: NormalizedTargets = normalizeTargets(opts.targets ?? 'all');
  let generation: 0 | 1 = 0;
  let windowStart = 0n;
  let dropTotals: readonly number[] = [];
  let pending: HttpExchange[] = [];
  let userDrops: DropCounts = {};
  // bpf_ktime_get_ns and process.hrtime are both CLOCK_MONOTONIC
  let monoToWallNs = 0n;

  const writeControl = (o: BpfObject): void => o.map('control').update(u32Bytes(0), encodeOnCpuControl(generation, targets === 'all'));
  const count = (reason: string, n = 1): void => { userDrops[reason] = (userDrops[reason] ?? 0) + n; };
  const writeKeeping = (o: BpfObject): void => o.map('h1_keep').update(u32Bytes(0), encodeH1KeepConfig(
    keeping ? { minDurationNs: keeping.minDurationNs, minStatus: keeping.minStatus, headLen: keeping.headBytes } : { minDurationNs: 0, minStatus: 0, headLen: 0 },
  ));
  const readHeads = (): void => {
    const batch = headRing?.pollBatch(0);
    if (batch === undefined) return;
    if (batch.lost > 0) count('ring_records_unallocated', batch.lost);
    for (const rec of ringRecordViews(batch)) {
      const h = decodeH1Head(rec);
      if (h) traceHeads.set(`${h.tgid}:${h.startNs}`, h.head);
      else count('unparsed_http_event');
    }
  };
  /**
   * After the exchanges took theirs: heads read this poll wait for the next
   * (their exchange came after its read); those that waited a whole poll
   * already had theirs lost (counted by the kernel) and go; should one
   * come later still, it counts as http1_head_missing. Bounded besides.
   */
  const trimHeads = (): void => {
    for (const key of traceHeads.keys()) {
      if (traceHeads.size <= MAX_WAITING_HEADS) break;
      traceHeads.delete(key);
      count('http1_heads_over_cap');
    }
    lastTraceHeads = traceHeads;
    traceHeads = new Map();
  };
  /** The trace context of an exchange whose head the kernel sent just before it. */
  const headTrace = (r: HttpEventRecord): RequestTraceContext | undefined => {
    const key = `${r.tgid}:${r.startNs}`;
    const head = traceHeads.get(key) ?? lastTraceHeads.get(key);
    if (head === undefined) {
      // sent by the kernel, but gone: over the cap, or its exchange came more than a poll late
      count('http1_head_missing');
      return undefined;
    }
    traceHeads.delete(key);
    lastTraceHeads.delete(key);
    const { truncated, ...trace } = parseHeadTraceContext(head);
    if (truncated) count('http1_head_truncated');
    return trace;
  };

  const readRing = (): void => {
    if (!ring) return;
    // samples first: a request's samples were taken before its response was seen
    const stackBatch = stackRing?.pollBatch(0);
    if (stackBatch && stackBatch.lost > 0) count('ring_records_unallocated', stackBatch.lost);
    for (const rec of stackBatch ? ringRecordViews(stackBatch) : []) {
      const s = decodeRequestStack(rec);
      if (!s) continue;
      const key = `${s.tgid}:${s.startNs}`;
      let list = waiting.get(key);
      if (list === undefined) {
        if (waiting.size >= MAX_WAITING_STACKS) {
          const oldest = waiting.keys().next().value;
          if (oldest !== undefined) waiting.delete(oldest);
          count('request_stacks_over_cap');
        }
        waiting.set(key, (list = []));
      }
      list.push({ userStack: s.userStack, kernelStack: s.kernelStack });
    }
    const h2Batch = h2Ring?.pollBatch(0);
    if (h2Batch && h2Batch.lost > 0) count('ring_records_unallocated', h2Batch.lost);
    for (const rec of h2Batch ? ringRecordViews(h2Batch) : []) {
      const r = decodeH2HeaderEvent(rec);
      if (!r) {
        count('unparsed_http_event');
        continue;
      }
      for (const ex of h2.add(r, monoToWallNs)) {
        if (pending.length >= maxPending) count('exchanges_buffer_full');
        else pending.push(ex);
      }
    }
    // the busy ring, decoded in place from the poll's one buffer; polled before
    // the heads: the kernel sends a head before its exchange, so each exchange read has its head here
    const batch = ring.pollBatch(0);
    if (batch.lost > 0) count('ring_records_unallocated', batch.lost);
    readHeads();
    forEachRingRecord(batch, onHttpRecord);
    trimHeads();
  };

  const onHttpRecord = (buf: Buffer, offset: number, length: number): void => {
    const r = events.decode(buf, offset, length);
    // Most exchanges carry no stacks: the key string is built only while some wait.
    const key = r && waiting.size > 0 ? `${r.tgid}:${r.startNs}` : undefined;
    const stacks = key !== undefined ? waiting.get(key) : undefined;
    if (stacks && key !== undefined) waiting.delete(key);
    const ex = r && toExchange(r, buf, heads, monoToWallNs, stacks, r.hasHead ? headTrace(r) : undefined);
    if (!ex) count('unparsed_http_event');
    else if (pending.length >= maxPending) count('exchanges_buffer_full');
    else pending.push(ex);
  };

  const readTcp = (o: BpfObject, old: 0 | 1): TcpFlow[] => {
    const { keys, values } = o.map(old ? 'tcp1' : 'tcp0').lookupAndDeleteBatch();
    return keys.map((k, i) => {
      const key = decodeTcpKey(k);
      const v = decodeTcpValue(values[i]!);
      return {
        ...key, bytesSent: v[0]!, bytesReceived: v[1]!, opened: v[2]!, closed: v[3]!, retransmits: v[4]!,
        rttSumUs: v[5]!, rttCount: v[6]!, http2Streams: v[7]!,
      };
    });
  };

  const stop = (): void => {
    if (timer) clearInterval(timer);
    timer = undefined;
    for (const l of links) l.destroy();
    links.length = 0;
    for (const ls of probed.values()) for (const l of ls) l.destroy();
    probed.clear();
    ring?.close();
    ring = undefined;
    stackRing?.close();
    stackRing = undefined;
    h2Ring?.close();
    h2Ring = undefined;
    headRing?.close();
    headRing = undefined;
    traceHeads.clear();
    lastTraceHeads.clear();
    waiting.clear();
    obj?.destroy();
    obj = undefined;
    attachedWith = undefined;
  };

  return {
    get tlsLibraries() { return [...probed.keys()]; },
    get attachedWith() { return attachedWith; },
    start() {
      if (obj) throw new Error('starting network sampler: already started');
      const hz = opts.requestStacksHz ?? 99;
      const tryStart = (mode: 'tp_btf' | 'raw_tp'): void => {
        const o = open('network');
        obj = o;
        for (const [m, names] of Object.entries(syscallPrograms)) for (const p of names) o.setAutoload(p, m === mode);
        o.setGlobal('filter_tgid', Buffer.from([1]));
        o.setGlobal('self_tgid', u32Bytes(opts.selfTgid ?? process.pid));
        o.setGlobal('want_request_stacks', Buffer.from([hz > 0 ? 1 : 0]));
        o.load();
        syncTargetMap(o.map('targets'), targets);
        writeControl(o);
        writeKeeping(o);
        // before the programs run: whatever they drop from the first syscall on is reported
        dropTotals = readDropTotals(o, NETWORK_DROP_REASONS);
        for (const p of [...syscallPrograms[mode], 'inet_sock_set_state', 'tcp_retransmit_skb']) links.push(o.attach(p));
        attachedWith = mode;
      };
      try {
        startWithTracepointFallback(opts.attachMode ?? 'auto', 'sys_enter', tryStart, stop, opts.log);
        const o = obj as BpfObject | undefined;
        if (!o) throw new Error('starting network sampler: no program loaded');
        monoToWallNs = clock.nowNs() - process.hrtime.bigint();
        windowStart = clock.nowNs();
        ring = o.ringBuffer('events');
        h2Ring = o.ringBuffer('h2_headers');
        headRing = o.ringBuffer('h1_heads');
        if (hz > 0) {
          try {
            stackRing = o.ringBuffer('request_stacks');
            for (const cpu of onlineCpus()) links.push(o.attachPerfEvent('request_sample', { cpu, frequencyHz: hz }));
          } catch (err) {
            // the exchanges do not need them: slow requests then come without stacks
            opts.log?.warn(`network: no on-CPU stacks of slow requests: ${(err as Error).message.split('\n')[0]}`);
          }
        }
        timer = setInterval(readRing, opts.pollIntervalMs ?? 50);
        timer.unref();
      } catch (err) {
        stop();
        throw err;
      }
    },
    drain(): RawNetworkBatch {
      const o = obj;
      if (!o) throw new Error('draining network sampler: not started: call start() first');
      const old = generation;
      generation = old === 0 ? 1 : 0;
      writeControl(o);
      const windowEnd = clock.nowNs();
      // programs that read the old generation just before the flip finish within microseconds
      sleepSync(opts.settleMs ?? 5);
      readRing();
      const tcp = readTcp(o, old);
      const drops: DropCounts = userDrops;
      for (const [reason, n] of Object.entries(h2.takeDrops())) drops[reason] = (drops[reason] ?? 0) + n;
      const totals = readDropTotals(o, NETWORK_DROP_REASONS);
      addDropDeltas(drops, NETWORK_DROP_REASONS, dropTotals, totals);
      dropTotals = totals;
      const batch: RawNetworkBatch = { startTimeNs: windowStart, durationNs: windowEnd - windowStart, exchanges: pending, tcp, drops };
      pending = [];
      userDrops = {};
      windowStart = windowEnd;
      return batch;
    },
    setTargets(next) {
      targets = normalizeTargets(next);
      if (!obj) return;
      applyTargets(obj, targets, writeControl);
      // after the maps: threads that cached an answer from them ask again
      targetsEpoch = (targetsEpoch + 1) >>> 0;
      obj.map('targets_epoch').update(u32Bytes(0), u32Bytes(targetsEpoch));
    },
    addTlsLibraries(paths) {
      const o = obj;
      if (!o) throw new Error('probing tls libraries: network sampler not started: call start() first');
      let added = 0;
      for (const path of paths) {
        if (probed.has(path)) continue;
        const ls: BpfLink[] = [];
        try {
          ls.push(o.attachUprobe('ssl_set_fd', { pid: -1, binaryPath: path, functionName: 'SSL_set_fd' }));
          for (const u of uprobes) {
            let enter: BpfLink;
            try {
              enter = o.attachUprobe(u.enter, { pid: -1, binaryPath: path, functionName: u.fn });
            } catch (err) {
              if (u.optional) continue;
              throw err;
            }
            ls.push(enter);
            ls.push(o.attachUprobe(u.exit, { pid: -1, binaryPath: path, functionName: u.fn, retprobe: true }));
          }
          probed.set(path, ls);
          added++;
        } catch (err) {
          for (const l of ls) l.destroy();
          opts.log?.warn(`tls of ${path} not followed: ${(err as Error).message.split('\n')[0]}`);
        }
      }
      return added;
    },
    setKeeping(next) {
      keeping = next !== undefined && next.headBytes > 0 ? next : undefined;
      if (!obj) return;
      writeKeeping(obj);
      // heads copied while on are sent or forgotten at their exchange; with
      // copying off nothing looks there, so what waits is cleared
      if (!keeping) obj.map('h1_pending').lookupAndDeleteBatch();
    },
    addGoTls(sites) {
      const o = obj;
      if (!o) throw new Error('probing go tls: network sampler not started: call start() first');
      if (probed.has(sites.path)) return true;
      const ls: BpfLink[] = [];
      const at = (program: string, offset: number): void => {
        ls.push(o.attachUprobe(program, { pid: -1, binaryPath: sites.path, offset }));
      };
      try {
        at('go_tls_write', sites.write);
        // returns first: a Read entered before its returns are probed would leave an entry behind
        for (const r of sites.readReturns) at('go_tls_read_return', r);
        at('go_tls_read_enter', sites.read);
        probed.set(sites.path, ls);
        return true;
      } catch (err) {
        for (const l of ls) l.destroy();
        opts.log?.warn(`go tls of ${sites.path} not followed: ${(err as Error).message.split('\n')[0]}`);
        return false;
      }
    },
    stop,
  };
}
