/**
 * Setup file of the unit project: unit tests run anywhere, with fakes behind
 * the kernel interface, so loading the native addon (and with it any BPF
 * object or map) fails the test that tried. Such a test belongs to the
 * integration project (vitest.config.ts).
 */
import { vi } from 'vitest';

vi.mock('../../src/kernel/native-addon.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../src/kernel/native-addon.js')>()),
  loadNativeAddon: () => {
    throw new Error('a unit test loaded the native BPF addon: move the test to the integration project in vitest.config.ts');
  },
}));
