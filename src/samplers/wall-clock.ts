/** Unix-nanosecond wall clock that advances with the monotonic clock. */
export interface WallClock {
  nowNs(): bigint;
}

/** Anchors hrtime to Date.now() once, so windows never go backwards. */
export function createWallClock(): WallClock {
  const wallBase = BigInt(Date.now()) * 1_000_000n;
  const hrBase = process.hrtime.bigint();
  return { nowNs: () => wallBase + (process.hrtime.bigint() - hrBase) };
}

/** Blocks the thread for ms; drain() is synchronous by contract. */
export function sleepSync(ms: number): void {
  if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
