/**
 * HTTP/2 requests and responses from the header frames the network
 * sampler's kernel side copies (struct h2_header_event): each connection
 * direction's header blocks are HPACK-decoded in order, and a stream's
 * request (:method, :path) is matched with its response (:status) and, for
 * gRPC, its trailers (grpc-status). A header frame split across two reads
 * or writes comes as its first part then the rest (H2_REST records), joined
 * here. A direction whose frames were not all seen whole (a gap in their sequence numbers, a frame cut by the capture,
 * a block that does not decode) is out of step for good: its headers are
 * then unknown, counted as http2_hpack_desync, never guessed.
 */
import type { HttpExchange, NetworkEndpoint, NetworkRole } from '../stacks/network-records.js';
import type { DropCounts } from '../stacks/raw-stacks.js';
import { createHpackDecoder, HpackError, type HeaderField, type HpackDecoder } from './hpack.js';
import { H2_PREFACE, H2_REST, type H2HeaderRecord } from './network-layout.js';
import { traceContextOf, type RequestTraceContext } from './trace-headers.js';

const HEADERS = 1;
const CONTINUATION = 9;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY = 0x20;

/** Limits on what is kept between frames. */
export interface H2TrackerOptions {
  /** Connections followed at most; the least recently active go first. Default 4096. */
  readonly maxConnections?: number;
  /** Requests waiting for their response per connection at most; the oldest go first, counted. Default 1024. */
  readonly maxWaitingStreams?: number;
  /** A header block's bytes at most (HEADERS + CONTINUATION); a longer one puts its direction out of step. Default 64 KiB. */
  readonly maxBlockBytes?: number;
}

/** Follows the HTTP/2 connections of the network sampler's header frames. */
export interface H2ExchangeTracker {
  /** Takes one record in ring-buffer order; returns the exchanges it completed. */
  add(r: H2HeaderRecord, monoToWallNs: bigint): HttpExchange[];
  /** What was lost since the previous call, by reason; resets them. */
  takeDrops(): DropCounts;
}

interface Direction {
  decoder: HpackDecoder;
  nextSeq: number;
  desync: boolean;
  /** A HEADERS frame without END_HEADERS: its stream and the fragments so far. */
  pending: { streamId: number; endStream: boolean; chunks: Buffer[]; bytes: number } | undefined;
  /** A header frame whose call ended inside its payload: the record and its payload so far, the rest to come as H2_REST. */
  split: { record: H2HeaderRecord; chunks: Buffer[]; bytes: number } | undefined;
}

interface StreamState {
  readonly role: NetworkRole;
  readonly method: string;
  readonly path: string;
  readonly grpc: boolean;
  readonly startNs: bigint;
  readonly trace: RequestTraceContext;
  statusCode?: number;
  statusNs?: bigint;
}

interface Connection {
  readonly local: NetworkEndpoint | undefined;
  readonly peer: NetworkEndpoint | undefined;
  readonly tls: boolean;
  readonly read: Direction;
  readonly write: Direction;
  readonly streams: Map<number, StreamState>;
}

const newDirection = (nextSeq: number, desync: boolean): Direction => ({ decoder: createHpackDecoder(), nextSeq, desync, pending: undefined, split: undefined });

/** The most bytes of a frame's payload one kernel record copies (NET_H2_BLOCK_LEN): a longer frame cannot be joined. */
const RECORD_BLOCK_BYTES = 1024;

/** The value of the first field named `name`. */
function field(fields: readonly HeaderField[], name: string): string | undefined {
  return fields.find((f) => f.name === name)?.value;
}


export function createH2ExchangeTracker(opts: H2TrackerOptions = {}): H2ExchangeTracker {
  const maxConns = opts.maxConnections ?? 4096;
  const maxStreams = opts.maxWaitingStreams ?? 1024;
  const maxBlock = opts.maxBlockBytes ?? 64 * 1024;
  const conns = new Map<string, Connection>();
  let drops: DropCounts = {};
  const count = (reason: string, n = 1): void => { drops[reason] = (drops[reason] ?? 0) + n; };

  const desync = (d: Direction): void => {
    if (!d.desync) count('http2_hpack_desync');
    d.desync = true;
    d.pending = undefined;
    d.split = undefined;
  };

  const remember = (key: string, c: Connection): void => {
    conns.delete(key);
    conns.set(key, c); // most recent last
    if (conns.size > maxConns) {
      const [oldKey, old] = conns.entries().next().value as [string, Connection];
      conns.delete(oldKey);
      if (old.streams.size > 0) count('http2_streams_over_cap', old.streams.size);
    }
  };

  const exchange = (c: Connection, s: StreamState, r: H2HeaderRecord, endNs: bigint, wall: bigint, grpcStatus: number | undefined): HttpExchange => ({
    tgid: r.tgid, tid: r.tid, comm: r.comm, role: s.role, tls: c.tls,
    method: s.method, path: s.path, pathTruncated: false, protocolVersion: '2',
    statusCode: s.statusCode, startTimeNs: s.startNs + wall, durationNs: Number(endNs - s.startNs),
    local: c.local, peer: c.peer,
    ...(grpcStatus !== undefined ? { grpcStatus } : {}),
    ...s.trace,
  });

  /** A whole header block of stream `id`, seen in direction `dir` at tsNs. */
  const onBlock = (c: Connection, dir: 'read' | 'write', id: number, fields: readonly HeaderField[], endStream: boolean,
    r: H2HeaderRecord, wall: bigint): HttpExchange | undefined => {
    const method = field(fields, ':method');
    if (method !== undefined) {
      const path = field(fields, ':path') ?? '';
      const q = path.search(/[?#]/);
      if (c.streams.size >= maxStreams) {
        const oldest = c.streams.keys().next().value;
        if (oldest !== undefined) c.streams.delete(oldest);
        count('http2_streams_over_cap');
      }
      c.streams.set(id, {
        // who read the request serves it
        role: dir === 'read' ? 'server' : 'client', method, path: q < 0 ? path : path.slice(0, q),
        grpc: (field(fields, 'content-type') ?? '').startsWith('application/grpc'), startNs: r.tsNs,
        // the same headers as HTTP/1's: sw8, traceparent, b3 and X-B3-* (lower case, as HPACK's)
        trace: traceContextOf((name) => field(fields, name)),
      });
      return undefined;
    }
    const s = c.streams.get(id);
    const status = field(fields, ':status');
    if (!s || (s.role === 'server') !== (dir === 'write')) {
      // a response (or trailers) whose request this process did not send or receive while followed
      if (status !== undefined) count('response_without_request');
      return undefined;
    }
    if (status !== undefined) {
      const code = Number(status);
      if (!/^[1-5]\d\d$/.test(status)) {
        c.streams.delete(id);
        count('unparsed_http_event');
        return undefined;
      }
      if (code < 200) return undefined; // 1xx: the final response follows
      s.statusCode = code;
      s.statusNs = r.tsNs;
    }
    if (s.statusCode === undefined) return undefined; // trailers before any response: not HTTP/2
    const grpcStatus = field(fields, 'grpc-status');
    // gRPC's outcome is in its trailers: wait for them, unless the stream ended without
    if (s.grpc && grpcStatus === undefined && !endStream) return undefined;
    c.streams.delete(id);
    const g = s.grpc && grpcStatus !== undefined && /^\d+$/.test(grpcStatus) ? Number(grpcStatus) : undefined;
    // an HTTP request lasts until its response's headers (as a status line for HTTP/1), a gRPC call until its status
    return exchange(c, s, r, s.grpc ? r.tsNs : s.statusNs ?? r.tsNs, wall, g);
  };

  return {
    add(r, wall) {
      const key = `${r.tgid}:${r.conn}`;
      if (r.type === H2_PREFACE) {
        const fresh: Connection = {
          local: r.local, peer: r.peer, tls: r.tls,
          read: newDirection(r.direction === 'read' ? r.seq + 1 : 0, false),
          write: newDirection(r.direction === 'write' ? r.seq + 1 : 0, false),
          streams: new Map(),
        };
        const old = conns.get(key);
        if (old && old.streams.size > 0) count('http2_streams_unanswered', old.streams.size);
        remember(key, fresh);
        return [];
      }
      let c = conns.get(key);
      if (!c) {
        // its preface was lost: nothing of it can be decoded
        c = { local: undefined, peer: undefined, tls: r.tls, read: newDirection(0, false), write: newDirection(0, false), streams: new Map() };
        desync(c.read);
        desync(c.write);
      }
      remember(key, c);
      const d = r.direction === 'read' ? c.read : c.write;
      if (d.desync) return [];
      if (r.seq !== d.nextSeq) {
        desync(d);
        return [];
      }
      d.nextSeq = r.seq + 1;
      if (r.type === H2_REST) {
        const s = d.split;
        // the rest of a frame that is not being joined (a frame longer than a record copies): nothing to do
        if (!s) return [];
        // the part in this call not all copied (a vector call's first buffer held less)
        if (r.block.length < r.frameLen) return desync(d), [];
        s.chunks.push(r.block);
        s.bytes += r.block.length;
        if (s.bytes < s.record.frameLen) return [];
        d.split = undefined;
        if (s.bytes > s.record.frameLen) return desync(d), [];
        r = { ...s.record, block: Buffer.concat(s.chunks) };
      } else if (d.split) {
        // a header frame came before the rest of the split one
        return desync(d), [];
      } else if ((r.type === HEADERS || r.type === CONTINUATION) && r.block.length < r.frameLen && r.frameLen <= RECORD_BLOCK_BYTES) {
        d.split = { record: r, chunks: [r.block], bytes: r.block.length };
        return [];
      }
      let fragment: Buffer;
      let endStream: boolean;
      if (r.type === HEADERS) {
        if (d.pending) return desync(d), [];
        let start = 0;
        let padding = 0;
        if (r.flags & PADDED) {
          if (r.block.length < 1) return desync(d), [];
          padding = r.block[0]!;
          start = 1;
        }
        if (r.flags & PRIORITY) start += 5;
        const end = r.frameLen - padding;
        // cut by the capture before the end of the block (padding may be missing)
        if (end < start || r.block.length < end) return desync(d), [];
        fragment = r.block.subarray(start, end);
        endStream = (r.flags & END_STREAM) !== 0;
        if (!(r.flags & END_HEADERS)) {
          d.pending = { streamId: r.streamId, endStream, chunks: [fragment], bytes: fragment.length };
          return [];
        }
      } else if (r.type === CONTINUATION) {
        const p = d.pending;
        if (!p || p.streamId !== r.streamId || r.block.length < r.frameLen) return desync(d), [];
        p.chunks.push(r.block);
        p.bytes += r.block.length;
        if (p.bytes > maxBlock) return desync(d), [];
        if (!(r.flags & END_HEADERS)) return [];
        fragment = Buffer.concat(p.chunks);
        endStream = p.endStream;
        d.pending = undefined;
      } else {
        return [];
      }
      let fields: HeaderField[];
      try {
        fields = d.decoder.decode(fragment);
      } catch (err) {
        if (!(err instanceof HpackError)) throw err;
        return desync(d), [];
      }
      const ex = onBlock(c, r.direction, r.streamId, fields, endStream, r, wall);
      return ex ? [ex] : [];
    },
    takeDrops() {
      const out = drops;
      drops = {};
      return out;
    },
  };
}
