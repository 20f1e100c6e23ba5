/**
 * Byte layouts shared with bpf/network.h, decoded in one place.
 * Little-endian: the agent runs on the kernel's host.
 */
import type { NetworkEndpoint, NetworkRole } from '../stacks/network-records.js';

/** enum net_drop_reason, by index, as DropCounts names. */
export const NETWORK_DROP_REASONS = [
  'events_ring_full', 'connections_map_full', 'pipeline_full', 'response_without_request',
  'tcp_counters_map_full', 'sockets_map_full', 'syscalls_map_full', 'http2_frames_unfollowed',
  'request_stacks_ring_full', 'http2_headers_ring_full', 'go_tls_fd_unknown', 'go_tls_read_no_entry',
  'connection_reused', 'http2_scratch_busy',
  'http1_heads_full', 'http1_heads_ring_full', 'http1_scratch_busy',
] as const;

/** sizeof(struct request_stack_event); NET_STACK_DEPTH frames each. */
export const REQUEST_STACK_EVENT_SIZE = 536;
const NET_STACK_DEPTH = 32;

/** struct request_stack_event, decoded. */
export interface RequestStackRecord {
  readonly startNs: bigint;
  readonly tgid: number;
  readonly tid: number;
  /** Leaf first. */
  readonly userStack: readonly bigint[];
  readonly kernelStack: readonly bigint[];
}

/** Decodes one request_stack_event; undefined when the record is short. */
export function decodeRequestStack(buf: Buffer): RequestStackRecord | undefined {
  if (buf.length < REQUEST_STACK_EVENT_SIZE) return undefined;
  const frames = (off: number, bytes: number): bigint[] => {
    const out: bigint[] = [];
    for (let i = 0; i < Math.min(NET_STACK_DEPTH, Math.floor(bytes / 8)); i++) out.push(buf.readBigUInt64LE(off + i * 8));
    return out;
  };
  return {
    startNs: buf.readBigUInt64LE(0), tgid: buf.readUInt32LE(8), tid: buf.readUInt32LE(12),
    userStack: frames(24, buf.readUInt32LE(16)), kernelStack: frames(24 + NET_STACK_DEPTH * 8, buf.readUInt32LE(20)),
  };
}

/** sizeof(struct http_event), as the ring buffer delivers it. */
export const HTTP_EVENT_SIZE = 200;
/** sizeof(struct net_tcp_key) and sizeof(struct net_tcp_value). */
export const TCP_KEY_SIZE = 44;
export const TCP_VALUE_SIZE = 64;

const AF_INET = 2;
const AF_INET6 = 10;
const NET_F_TLS = 1;
const NET_F_NO_RESPONSE = 2;
const NET_F_HEAD = 4;

/** struct http_event, decoded; request and response still raw bytes, where they are in the buffer decoded. */
export interface HttpEventRecord {
  readonly startNs: bigint;
  readonly durationNs: number;
  readonly tgid: number;
  readonly tid: number;
  readonly role: NetworkRole;
  readonly tls: boolean;
  readonly noResponse: boolean;
  /** Its request head was sent through `h1_heads` just before it. */
  readonly hasHead: boolean;
  readonly local: NetworkEndpoint | undefined;
  readonly peer: NetworkEndpoint | undefined;
  readonly comm: string;
  /** The request's captured bytes are buf[requestStart, requestEnd), the status line's buf[responseStart, responseEnd). */
  readonly requestStart: number;
  readonly requestEnd: number;
  readonly responseStart: number;
  readonly responseEnd: number;
}

/** An address in the kernel's 16 bytes (IPv4 in the first 4) as text. */
export function formatAddress(family: number, bytes: Buffer): string {
  if (family === AF_INET) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  // IPv4-mapped (::ffff:a.b.c.d): dual-stack sockets talking IPv4
  if (isIPv4MappedAddress(bytes)) return `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  return compressIPv6(groups);
}

/** True for ::ffff:a.b.c.d in 16 network-order bytes. */
function isIPv4MappedAddress(bytes: Buffer): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

function compressIPv6(groups: readonly string[]): string {
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) { best = i; bestLen = j - i; }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

function cString(buf: Buffer): string {
  const nul = buf.indexOf(0);
  return buf.subarray(0, nul < 0 ? buf.length : nul).toString('utf8');
}

/** True when buf[off, off + raw.length) holds raw's bytes; a loop, cheaper than Buffer#compare's checks for a few bytes. */
export function sameBytes(buf: Uint8Array, off: number, raw: Uint8Array): boolean {
  if (off + raw.length > buf.length) return false;
  for (let i = 0; i < raw.length; i++) if (buf[off + i] !== raw[i]) return false;
  return true;
}

/** Entries an interning table holds before it starts over: a bound on memory, not on correctness. */
const INTERN_CAP = 16_384;
const TASK_COMM_LEN = 16;

/**
 * Decodes struct http_event records in place (at an offset of a ring
 * poll's buffer), sharing the strings and endpoints that repeat from one
 * exchange to the next (a process's name, its address, its peers) instead
 * of building them per record: most exchanges only feed histograms.
 */
export interface HttpEventDecoder {
  /** The record at buf[offset, offset + length); undefined when it is too short. */
  decode(buf: Buffer, offset: number, length: number): HttpEventRecord | undefined;
}

/** A decoder with its own interning tables (bounded; they start over when full). */
export function createHttpEventDecoder(): HttpEventDecoder {
  // IPv4 ends by address * 2^16 + port (exact below 2^53)
  const v4Ends = new Map<number, NetworkEndpoint>();
  // a thread's name, kept with its bytes: a thread that execs or renames itself gets a new one
  const comms = new Map<number, { readonly raw: Buffer; readonly comm: string }>();

  const endpoint = (buf: Buffer, family: number, addrOff: number, port: number): NetworkEndpoint => {
    if (family === AF_INET) {
      const key = buf.readUInt32BE(addrOff) * 65536 + port;
      let e = v4Ends.get(key);
      if (e === undefined) {
        if (v4Ends.size >= INTERN_CAP) v4Ends.clear();
        e = { address: formatAddress(family, buf.subarray(addrOff, addrOff + 16)), port };
        v4Ends.set(key, e);
      }
      return e;
    }
    return { address: formatAddress(family, buf.subarray(addrOff, addrOff + 16)), port };
  };

  const commOf = (buf: Buffer, tid: number, off: number): string => {
    const known = comms.get(tid);
    if (known !== undefined && sameBytes(buf, off, known.raw)) return known.comm;
    if (comms.size >= INTERN_CAP) comms.clear();
    const raw = Buffer.from(buf.subarray(off, off + TASK_COMM_LEN));
    const comm = cString(raw);
    comms.set(tid, { raw, comm });
    return comm;
  };

  return {
    decode(buf, o, length) {
      if (length < HTTP_EVENT_SIZE) return undefined;
      const family = buf.readUInt16LE(o + 24);
      const known = family === AF_INET || family === AF_INET6;
      const flags = buf.readUInt8(o + 31);
      const tid = buf.readUInt32LE(o + 20);
      // the duration from the two halves: no BigInt for what fits a double exactly
      const durationNs = (buf.readUInt32LE(o + 12) - buf.readUInt32LE(o + 4)) * 4294967296 + (buf.readUInt32LE(o + 8) - buf.readUInt32LE(o));
      return {
        startNs: buf.readBigUInt64LE(o),
        durationNs,
        tgid: buf.readUInt32LE(o + 16),
        tid,
        role: buf.readUInt8(o + 30) === 1 ? 'client' : 'server',
        tls: (flags & NET_F_TLS) !== 0,
        noResponse: (flags & NET_F_NO_RESPONSE) !== 0,
        hasHead: (flags & NET_F_HEAD) !== 0,
        local: known ? endpoint(buf, family, o + 32, buf.readUInt16LE(o + 26)) : undefined,
        peer: known ? endpoint(buf, family, o + 48, buf.readUInt16LE(o + 28)) : undefined,
        comm: commOf(buf, tid, o + 68),
        requestStart: o + 84,
        requestEnd: o + 84 + Math.min(buf.readUInt16LE(o + 64), 96),
        responseStart: o + 180,
        responseEnd: o + 180 + Math.min(buf.readUInt16LE(o + 66), 16),
      };
    },
  };
}

/** Decodes one struct http_event on its own (no interning across calls); undefined when the record is too short. */
export function decodeHttpEvent(buf: Buffer, offset = 0, length = buf.length - offset): HttpEventRecord | undefined {
  return createHttpEventDecoder().decode(buf, offset, length);
}

/** struct net_tcp_key, decoded. */
export interface TcpKeyRecord {
  readonly tgid: number;
  readonly role: NetworkRole;
  readonly server: NetworkEndpoint;
  readonly clientAddress: string | undefined;
  readonly protocol: 'http2' | undefined;
}

/** Decodes one struct net_tcp_key. */
export function decodeTcpKey(buf: Buffer): TcpKeyRecord {
  const family = buf.readUInt16LE(6);
  const role: NetworkRole = buf.readUInt8(4) === 1 ? 'client' : 'server';
  const protocol = buf.readUInt8(5) === 1 ? 'http2' as const : undefined;
  const local = formatAddress(family, buf.subarray(12, 28));
  const peer = formatAddress(family, buf.subarray(28, 44));
  return role === 'server'
    ? { tgid: buf.readUInt32LE(0), role, server: { address: local, port: buf.readUInt16LE(8) }, clientAddress: peer, protocol }
    : { tgid: buf.readUInt32LE(0), role, server: { address: peer, port: buf.readUInt16LE(10) }, clientAddress: undefined, protocol };
}

/** struct net_tcp_value as numbers, in field order. */
export function decodeTcpValue(buf: Buffer): readonly number[] {
  const out: number[] = [];
  for (let off = 0; off + 8 <= TCP_VALUE_SIZE; off += 8) out.push(Number(buf.readBigUInt64LE(off)));
  return out;
}

/** sizeof(struct h2_header_event); NET_H2_BLOCK_LEN bytes of payload. */
export const H2_HEADER_EVENT_SIZE = 1120;
const NET_H2_BLOCK_LEN = 1024;
/** h2_header_event.type of a connection preface. */
export const H2_PREFACE = 0xff;
/**
 * h2_header_event.type of the rest of a header frame the direction's
 * previous call ended inside: its block is what of the frame this call has
 * (frameLen bytes of it are in this call).
 */
export const H2_REST = 0xfe;

/** struct h2_header_event, decoded. */
export interface H2HeaderRecord {
  readonly tsNs: bigint;
  /** The kernel's struct sock address: the connection, while it lives. */
  readonly conn: bigint;
  readonly tgid: number;
  readonly tid: number;
  readonly streamId: number;
  readonly frameLen: number;
  readonly seq: number;
  /** 1 HEADERS, 9 CONTINUATION, H2_PREFACE, H2_REST. */
  readonly type: number;
  readonly flags: number;
  readonly direction: 'read' | 'write';
  readonly tls: boolean;
  /** The preface only: the connection's ends. */
  readonly local: NetworkEndpoint | undefined;
  readonly peer: NetworkEndpoint | undefined;
  readonly comm: string;
  /** The payload bytes captured: fewer than frameLen when the frame was cut. */
  readonly block: Buffer;
}

/** Decodes one struct h2_header_event; undefined when the record is too short. */
export function decodeH2HeaderEvent(buf: Buffer): H2HeaderRecord | undefined {
  if (buf.length < H2_HEADER_EVENT_SIZE) return undefined;
  const family = buf.readUInt16LE(38);
  const known = family === AF_INET || family === AF_INET6;
  const blockLen = Math.min(buf.readUInt16LE(36), NET_H2_BLOCK_LEN);
  return {
    tsNs: buf.readBigUInt64LE(0),
    conn: buf.readBigUInt64LE(8),
    tgid: buf.readUInt32LE(16),
    tid: buf.readUInt32LE(20),
    streamId: buf.readUInt32LE(24),
    frameLen: buf.readUInt32LE(28),
    seq: buf.readUInt32LE(32),
    type: buf.readUInt8(44),
    flags: buf.readUInt8(45),
    direction: buf.readUInt8(46) === 1 ? 'write' : 'read',
    tls: buf.readUInt8(47) !== 0,
    local: known ? { address: formatAddress(family, buf.subarray(48, 64)), port: buf.readUInt16LE(40) } : undefined,
    peer: known ? { address: formatAddress(family, buf.subarray(64, 80)), port: buf.readUInt16LE(42) } : undefined,
    comm: cString(buf.subarray(80, 96)),
    block: Buffer.from(buf.subarray(96, 96 + blockLen)),
  };
}

/** NET_H1_HEAD_MAX: request head bytes the kernel can keep at most. */
export const H1_HEAD_MAX = 1024;
/** offsetof(struct h1_head_event, head). */
const H1_HEAD_OFFSET = 16;

/** struct h1_head_event, decoded. */
export interface H1HeadRecord {
  readonly startNs: bigint;
  readonly tgid: number;
  /** The request line and headers, as far as captured. */
  readonly head: Buffer;
}

/** Decodes one h1_head_event (only head_len bytes of head[] travel); undefined when short. */
export function decodeH1Head(buf: Buffer): H1HeadRecord | undefined {
  if (buf.length < H1_HEAD_OFFSET) return undefined;
  const len = Math.min(buf.readUInt16LE(12), H1_HEAD_MAX, buf.length - H1_HEAD_OFFSET);
  return { startNs: buf.readBigUInt64LE(0), tgid: buf.readUInt32LE(8), head: Buffer.from(buf.subarray(H1_HEAD_OFFSET, H1_HEAD_OFFSET + len)) };
}

/** struct h1_keep_config: which exchanges may be kept; headLen 0 copies nothing. */
export function encodeH1KeepConfig(c: { readonly minDurationNs: number; readonly headLen: number; readonly minStatus: number }): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigUInt64LE(BigInt(Math.max(0, Math.floor(c.minDurationNs))), 0);
  b.writeUInt32LE(Math.min(c.headLen, H1_HEAD_MAX), 8);
  b.writeUInt16LE(Math.min(c.minStatus, 0xffff), 12);
  return b;
}
