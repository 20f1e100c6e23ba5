import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { LocalFormat } from '../config/agent-config.js';
import type { Profile } from '../profile/model.js';
import { writeProfileFile } from './write-profile-file.js';

const extension: Record<LocalFormat, string> = { pprof: 'pb.gz', html: 'html', folded: 'folded' };

/** Writes each interval's profile into a directory, one file per format. */
export class LocalProfileFiles {
  constructor(private readonly dir: string, private readonly formats: readonly LocalFormat[]) {}

  /** Returns the paths written, e.g. profiles/oncpu-20261127T050102Z.pb.gz. */
  async write(kind: string, profile: Profile): Promise<string[]> {
    await mkdir(this.dir, { recursive: true });
    const stamp = new Date(Number(profile.startTimeNs / 1_000_000n)).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    const paths: string[] = [];
    for (const format of this.formats) {
      const path = join(this.dir, `${kind}-${stamp}.${extension[format]}`);
      await writeProfileFile(path, format, profile, { title: `meshprof ${kind} ${stamp}` });
      paths.push(path);
    }
    return paths;
  }
}
