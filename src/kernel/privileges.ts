import { readFileSync } from 'node:fs';

/** Capability numbers from include/uapi/linux/capability.h. */
export const capabilities = { CAP_SYS_ADMIN: 21, CAP_SYS_PTRACE: 19, CAP_PERFMON: 38, CAP_BPF: 39 } as const;
export type CapabilityName = keyof typeof capabilities;

/** The effective capability set of this process, from /proc/self/status. */
export function effectiveCapabilities(statusText?: string): Set<CapabilityName> {
  const text = statusText ?? readFileSync('/proc/self/status', 'utf8');
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(text);
  const mask = m?.[1] !== undefined ? BigInt(`0x${m[1]}`) : 0n;
  const have = new Set<CapabilityName>();
  for (const [name, bit] of Object.entries(capabilities) as [CapabilityName, number][]) {
    if ((mask >> BigInt(bit)) & 1n) have.add(name);
  }
  return have;
}

/**
 * Capabilities that loading and attaching the samplers needs but this process
 * lacks. CAP_SYS_ADMIN covers both on every kernel; CAP_BPF and CAP_PERFMON
 * (Linux 5.8+) are the narrow alternative.
 */
export function missingProfilingCapabilities(have: Set<CapabilityName> = effectiveCapabilities()): CapabilityName[] {
  if (have.has('CAP_SYS_ADMIN')) return [];
  return (['CAP_BPF', 'CAP_PERFMON'] as const).filter((c) => !have.has(c));
}

/** Throws with the names of the missing capabilities, before anything is loaded. */
export function requireProfilingPrivileges(have?: Set<CapabilityName>): void {
  const missing = missingProfilingCapabilities(have);
  if (missing.length > 0) {
    throw new Error(
      `loading the eBPF samplers: missing ${missing.join(' and ')}: run as root (sudo) or grant ${missing.join(' and ')} (or CAP_SYS_ADMIN)`,
    );
  }
}
