/**
 * The symbolizer as the collect cycle uses it: names from name(), the
 * profile from profile/'s builder over the same process table. The tests
 * that read Profiles go through this.
 */
import type { Profile, ProcessMetadata } from '../../src/profile/model.js';
import { buildProfile, createProcessDescriber } from '../../src/profile/profile-builder.js';
import type { RawStackBatch } from '../../src/stacks/raw-stacks.js';
import { createSymbolizer, type Symbolizer, type SymbolizerOptions } from '../../src/symbolize/symbolizer.js';

/** A symbolizer plus symbolize(batch) → Profile. */
export type ProfileSymbolizer = Symbolizer & { symbolize(batch: RawStackBatch): Profile };

/** Creates the symbolizer; `describeProcess` enriches process metadata as discovery does. */
export function createProfileSymbolizer(
  opts: SymbolizerOptions & { readonly describeProcess?: (base: ProcessMetadata) => ProcessMetadata },
): ProfileSymbolizer {
  const { describeProcess, ...rest } = opts;
  const sym = createSymbolizer(rest);
  const describe = createProcessDescriber(opts.processes, describeProcess);
  return { ...sym, symbolize: (b) => buildProfile(b, sym.name(b), describe) };
}
