/**
 * Byte layouts shared with bpf/memory.h, and the two tables the kernel side
 * samples and weighs with (it has no floating point). struct memory_key has
 * the layout of struct oncpu_key, so decodeOnCpuKey reads it.
 */
import { SAMPLER_DROP_REASONS } from './oncpu-layout.js';

/** enum sampler_drop_reason, then enum memory_drop_reason, as DropCounts names. */
export const MEMORY_DROP_REASONS = [...SAMPLER_DROP_REASONS, 'live_map_full', 'call_map_full'] as const;

/** MEMORY_EXP_QUANTILES, MEMORY_WEIGHT_STEPS, MEMORY_FX_SHIFT of bpf/memory.h. */
export const MEMORY_EXP_QUANTILES = 1024;
export const MEMORY_WEIGHT_STEPS = 1024;
const FX = 65536;

/** struct memory_value: estimates, object counts in 16.16 fixed point. */
export interface MemoryValue {
  readonly allocObjectsFx: number;
  readonly allocBytes: number;
  readonly freeObjectsFx: number;
  readonly freeBytes: number;
}

/** Decodes one struct memory_value. */
export function decodeMemoryValue(buf: Buffer): MemoryValue {
  return {
    allocObjectsFx: Number(buf.readBigUInt64LE(0)),
    allocBytes: Number(buf.readBigUInt64LE(8)),
    freeObjectsFx: Number(buf.readBigUInt64LE(16)),
    freeBytes: Number(buf.readBigUInt64LE(24)),
  };
}

/** A fixed-point object count as objects. */
export function fromFx(fx: number): number {
  return fx / FX;
}

/** The tgid of a struct memory_addr key of `live`. */
export function liveKeyTgid(buf: Buffer): number {
  return buf.readUInt32LE(0);
}

/**
 * `exp_quantiles`: the midpoint quantiles of Exp(1) in 16.16 fixed point,
 * scaled so their mean is exactly 1, so the mean interval is the rate.
 */
export function expQuantileTable(n = MEMORY_EXP_QUANTILES): Buffer {
  const q = Array.from({ length: n }, (_, i) => -Math.log(1 - (i + 0.5) / n));
  const mean = q.reduce((a, b) => a + b, 0) / n;
  const buf = Buffer.alloc(n * 4);
  q.forEach((v, i) => buf.writeUInt32LE(Math.round((v / mean) * FX), i * 4));
  return buf;
}

/**
 * `weights`: h(x) = x / (1 - e^-x) at x = i / 64 for i in 0..steps, 16.16
 * fixed point. A block of `size` sampled with probability 1 - e^(-size/rate)
 * stands for rate * h(size / rate) bytes: the inverse-probability estimate
 * Go's and tcmalloc's heap profiles use, so totals are unbiased.
 */
export function weightTable(steps = MEMORY_WEIGHT_STEPS): Buffer {
  const buf = Buffer.alloc((steps + 1) * 4);
  for (let i = 0; i <= steps; i++) {
    const x = i / 64;
    const h = x === 0 ? 1 : x / -Math.expm1(-x);
    buf.writeUInt32LE(Math.round(h * FX), i * 4);
  }
  return buf;
}
