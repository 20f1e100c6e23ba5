/**
 * Byte layouts shared with bpf/offcpu.h. struct offcpu_key has the same
 * layout as struct oncpu_key, so decodeOnCpuKey reads it.
 */
import { SAMPLER_DROP_REASONS } from './oncpu-layout.js';

/** The off-CPU sampler's drop reasons: enum sampler_drop_reason, shared with on-CPU. */
export const OFFCPU_DROP_REASONS = SAMPLER_DROP_REASONS;

/** enum offcpu_state_filter. */
export const OffCpuStateFilter = { all: 0, sleep: 1, preempt: 2 } as const;
export type OffCpuState = keyof typeof OffCpuStateFilter;

/** sizeof(struct offcpu_key); the start entry's key begins at offset 8. */
export const OFFCPU_KEY_SIZE = 40;

/** struct offcpu_value: switches then total_ns, both u64. */
export function decodeOffCpuValue(buf: Buffer): { switches: number; totalNs: number } {
  return { switches: Number(buf.readBigUInt64LE(0)), totalNs: Number(buf.readBigUInt64LE(8)) };
}

/** From a struct offcpu_start: the stack ids and the generation they live in. */
export function decodeOffCpuStartStacks(buf: Buffer): { userStackId: number; kernStackId: number; pyStackId: number; generation: number } {
  return {
    userStackId: buf.readInt32LE(8 + 8),
    kernStackId: buf.readInt32LE(8 + 12),
    pyStackId: buf.readInt32LE(8 + 32),
    generation: buf.readUInt32LE(8 + OFFCPU_KEY_SIZE),
  };
}

/** A u64 in its little-endian bytes (u64 globals). */
export function u64Bytes(n: bigint): Buffer {
  const buf = Buffer.alloc(8);
  buf.writeBigUInt64LE(n, 0);
  return buf;
}
