/** The process's native heap, as glibc holds it. */
import { loadNativeAddon } from './native-addon.js';

/**
 * Returns freed native memory to the kernel (malloc_trim). Loading BPF
 * objects parses the kernel's BTF and frees it again; without a trim those
 * pages stay in the agent's RSS for good. Cheap (a few ms); call it after
 * loads and between intervals. Returns whether anything was released.
 */
export function releaseFreedNativeMemory(): boolean {
  return loadNativeAddon().trimHeap();
}
