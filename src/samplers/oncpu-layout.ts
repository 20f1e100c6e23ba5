/**
 * Byte layouts shared with bpf/oncpu.h, decoded in one place so the sampler
 * reads fields by name. Little-endian: the agent runs on the kernel's host.
 */

/** sizeof(struct oncpu_key). */
export const ONCPU_KEY_SIZE = 40;
/** SAMPLER_MAX_STACK_DEPTH (bpf/sampler.h): u64 entries per stack map value. */
export const ONCPU_MAX_STACK_DEPTH = 127;

/** enum sampler_drop_reason (bpf/sampler.h), by index, as DropCounts names; both samplers use it. */
export const SAMPLER_DROP_REASONS = ['counts_map_full', 'user_stack_lost', 'kernel_stack_lost'] as const;
/** The on-CPU sampler's drop reasons. */
export const ONCPU_DROP_REASONS = SAMPLER_DROP_REASONS;

/** struct oncpu_key, decoded. Stack ids are -1 when there is no stack. */
export interface OnCpuKey {
  readonly tgid: number;
  readonly pid: number;
  readonly userStackId: number;
  readonly kernStackId: number;
  readonly comm: string;
  /** Key of pystacks<gen>, -1 without Python frames (and in keys older than the field). */
  readonly pyStackId: number;
}

/** Decodes one struct oncpu_key. */
export function decodeOnCpuKey(buf: Buffer): OnCpuKey {
  const commBytes = buf.subarray(16, 32);
  const nul = commBytes.indexOf(0);
  return {
    tgid: buf.readUInt32LE(0),
    pid: buf.readUInt32LE(4),
    userStackId: buf.readInt32LE(8),
    kernStackId: buf.readInt32LE(12),
    comm: commBytes.subarray(0, nul < 0 ? commBytes.length : nul).toString('utf8'),
    pyStackId: buf.length >= 36 ? buf.readInt32LE(32) : -1,
  };
}

/** Encodes struct sampler_control {generation, all_targets} (bpf/sampler.h), for both samplers. */
export function encodeOnCpuControl(generation: 0 | 1, allTargets: boolean): Buffer {
  const buf = Buffer.alloc(8);
  buf.writeUInt32LE(generation, 0);
  buf.writeUInt32LE(allTargets ? 1 : 0, 4);
  return buf;
}

/** A stack map value as addresses, leaf first; entries end at the first 0. */
export function decodeStack(buf: Buffer): bigint[] {
  const out: bigint[] = [];
  for (let off = 0; off + 8 <= buf.length; off += 8) {
    const addr = buf.readBigUInt64LE(off);
    if (addr === 0n) break;
    out.push(addr);
  }
  return out;
}

/** A struct user_stack value (bpf/unwinder.h): u32 len, u32 stop, u64 hash, then len pcs, leaf first. */
export function decodeUserStack(buf: Buffer): bigint[] {
  const len = Math.min(buf.readUInt32LE(0), Math.floor((buf.length - 16) / 8));
  const out: bigint[] = [];
  for (let i = 0; i < len; i++) out.push(buf.readBigUInt64LE(16 + i * 8));
  return out;
}

/** A struct python_stack value (bpf/python.h): u32 len, u32 truncated, u64 hash, then len packed frames, innermost first. */
export function decodePythonStack(buf: Buffer): bigint[] {
  const len = Math.min(buf.readUInt32LE(0), Math.floor((buf.length - 16) / 8));
  const out: bigint[] = [];
  for (let i = 0; i < len; i++) out.push(buf.readBigUInt64LE(16 + i * 8));
  return out;
}

/** Sums a per-CPU u64 value (8 bytes per possible CPU). */
export function sumPerCpuU64(buf: Buffer): number {
  let sum = 0n;
  for (let off = 0; off + 8 <= buf.length; off += 8) sum += buf.readBigUInt64LE(off);
  return Number(sum);
}

/** A u32 in its little-endian bytes (map keys, u32 globals). */
export function u32Bytes(n: number): Buffer {
  const buf = Buffer.alloc(4);
  buf.writeUInt32LE(n, 0);
  return buf;
}
