import { createOwnedMap, type OwnedBpfMap, type OwnedMapSpec } from './bpf-map.js';
import { loadNativeAddon } from './native-addon.js';

/** Creates a map owned by user space with the native addon; see createOwnedMap. */
export function openOwnedMap(spec: OwnedMapSpec): OwnedBpfMap {
  return createOwnedMap(loadNativeAddon(), spec);
}
