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
  'http1_heads_full', 'http1_heads_ring_full',
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

/** struct http_event, decoded; request and response still raw bytes. */
export interface HttpEventRecord {
  readonly startNs: bigint;
  readonly endNs: bigint;
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
  readonly request: Buffer;
  readonly response: Buffer;
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

/** Decodes one struct http_event; undefined when the record is too short. */
export function decodeHttpEvent(buf: Buffer): HttpEventRecord | undefined {
  if (buf.length < HTTP_EVENT_SIZE) return undefined;
  const family = buf.readUInt16LE(24);
  const known = family === AF_INET || family === AF_INET6;
  const flags = buf.readUInt8(31);
  const requestLen = Math.min(buf.readUInt16LE(64), 96);
  const responseLen = Math.min(buf.readUInt16LE(66), 16);
  return {
    startNs: buf.readBigUInt64LE(0),
    endNs: buf.readBigUInt64LE(8),
    tgid: buf.readUInt32LE(16),
    tid: buf.readUInt32LE(20),
    role: buf.readUInt8(30) === 1 ? 'client' : 'server',
    tls: (flags & NET_F_TLS) !== 0,
    noResponse: (flags & NET_F_NO_RESPONSE) !== 0,
    hasHead: (flags & NET_F_HEAD) !== 0,
    local: known ? { address: formatAddress(family, buf.subarray(32, 48)), port: buf.readUInt16LE(26) } : undefined,
    peer: known ? { address: formatAddress(family, buf.subarray(48, 64)), port: buf.readUInt16LE(28) } : undefined,
    comm: cString(buf.subarray(68, 84)),
    request: Buffer.from(buf.subarray(84, 84 + requestLen)),
    response: Buffer.from(buf.subarray(180, 180 + responseLen)),
  };
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
  /** 1 HEADERS, 9 CONTINUATION, H2_PREFACE. */
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
