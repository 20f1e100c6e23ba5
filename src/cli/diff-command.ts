/**
 * `meshprof diff`: two recordings in, their difference out, matched by
 * function names so recordings of two builds compare.
 */
import { readFile } from 'node:fs/promises';
import { formatFromFileName } from './output-format.js';
import { UsageError } from './usage-error.js';
import type { Profile } from '../profile/model.js';
import type { ProfileDiff } from '../profile/profile-diff.js';

/** Flags of `meshprof diff`, as commander hands them over. */
export interface DiffOptions {
  output: string;
  format?: 'pprof' | 'folded' | 'html';
  value?: string;
}

/** Formats a difference can be written in. */
type DiffFormat = NonNullable<DiffOptions['format']>;

/** `--value` names as `meshprof record` takes them, for the sample types a pprof names otherwise. */
const VALUE_ALIASES: Readonly<Record<string, string>> = { duration: 'off_cpu', samples: 'samples' };

/** Which value folded output prints: --value, else blocked time (off-CPU), in-use bytes (memory) or the first. */
function valueIndex(diff: ProfileDiff, value: string | undefined): number {
  const names = diff.sampleTypes.map((t) => t.type);
  if (value !== undefined) {
    const i = names.indexOf(value) >= 0 ? names.indexOf(value) : names.indexOf(VALUE_ALIASES[value] ?? value);
    if (i < 0) throw new UsageError(`--value ${value} is not a sample type of these profiles: use one of ${names.join(', ')}`);
    return i;
  }
  for (const preferred of ['off_cpu', 'duration', 'inuse_space']) {
    const i = names.indexOf(preferred);
    if (i >= 0) return i;
  }
  return 0;
}

async function readProfile(path: string, role: string): Promise<Profile> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new UsageError(`reading ${role} ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const { parseProfileFile } = await import('../receive/profile-file-input.js');
  try {
    return parseProfileFile(bytes, `${role} ${path}`);
  } catch (err) {
    throw new UsageError(`${err instanceof Error ? err.message : String(err)}: pass a .pb.gz or .folded file meshprof record wrote`);
  }
}

/** `meshprof diff BASE NEW`: writes NEW − BASE as a pprof, a two-column folded file or a differential flame graph. */
export async function runDiffCommand(basePath: string, newPath: string, opts: DiffOptions): Promise<number> {
  const implied = formatFromFileName(opts.output);
  const format: DiffFormat | undefined = opts.format ?? (implied === 'pprof' || implied === 'folded' || implied === 'html' ? implied : undefined);
  if (format === undefined) throw new UsageError(`cannot tell the format of ${opts.output} from its name: end it in .pb.gz, .folded or .html, or pass --format`);
  const [base, next] = await Promise.all([readProfile(basePath, 'BASE'), readProfile(newPath, 'NEW')]);
  const { diffProfiles, ProfileDiffError } = await import('../profile/profile-diff.js');
  let diff: ProfileDiff;
  try {
    diff = diffProfiles(base, next);
  } catch (err) {
    if (err instanceof ProfileDiffError) throw new UsageError(err.message);
    throw err;
  }
  const index = valueIndex(diff, opts.value);
  let data: Uint8Array | string;
  if (format === 'pprof') data = (await import('../encode/pprof.js')).encodePprof(diff);
  else if (format === 'folded') data = (await import('../encode/diff-folded.js')).encodeDiffFolded(diff, index);
  else data = (await import('../encode/diff-html.js')).encodeDiffHtml(diff, { title: `meshprof diff: ${newPath} against ${basePath}` });
  const { writeFileAtomically } = await import('../export/write-profile-file.js');
  await writeFileAtomically(opts.output, data, 'diff');
  const type = diff.sampleTypes[index];
  const b = diff.baseTotals[index] ?? 0;
  const n = diff.newTotals[index] ?? 0;
  process.stderr.write(`wrote ${opts.output} (${format}): ${diff.samples.length} stacks; ${type?.type ?? 'value'} total BASE ${b}, NEW ${n}` +
    `${b > 0 ? ` (${n >= b ? '+' : ''}${((100 * (n - b)) / b).toFixed(1)}%)` : ''}\n`);
  return 0;
}
