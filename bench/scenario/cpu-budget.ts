/**
 * The mesh's fixed CPU budget, as the article fixes 2 CPUs for the pod: a
 * cgroup with a CFS quota that the proxy and the service start in. cgroup
 * v2 (`cpu.max`) where the cpu controller is on the unified hierarchy, else
 * the v1 cpu controller (`cpu.cfs_quota_us`), else no budget, with a note.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A CPU budget: `wrap` runs a command inside it; `note` says which kind it is. */
export interface CpuBudget {
  readonly note: string;
  /** argv that starts `command` inside the budget (the cgroup is joined before exec). */
  wrap(command: readonly string[]): string[];
  remove(): void;
}

const PERIOD_US = 100_000;

function v2Root(): string | undefined {
  for (const root of ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']) {
    const controllers = join(root, 'cgroup.controllers');
    if (existsSync(controllers) && readFileSync(controllers, 'utf8').split(/\s+/).includes('cpu')) return root;
  }
  return undefined;
}

/** Creates a cgroup limited to `cpus` CPUs, or explains why there is none. */
export function createCpuBudget(cpus: number): CpuBudget {
  const name = `meshprof-scenario-${process.pid}`;
  const quota = Math.round(cpus * PERIOD_US);
  const attempts: string[] = [];
  const v2 = v2Root();
  const candidates: { dir: string; limit: () => void; kind: string }[] = [];
  if (v2 !== undefined) {
    const dir = join(v2, name);
    candidates.push({ dir, kind: `cgroup v2 ${dir} (cpu.max ${quota} ${PERIOD_US})`, limit: () => {
      try { writeFileSync(join(v2, 'cgroup.subtree_control'), '+cpu'); } catch { /* already on, or the root's own */ }
      writeFileSync(join(dir, 'cpu.max'), `${quota} ${PERIOD_US}`);
    } });
  } else {
    attempts.push('no cgroup v2 hierarchy has the cpu controller');
  }
  if (existsSync('/sys/fs/cgroup/cpu/cpu.cfs_quota_us')) {
    const dir = join('/sys/fs/cgroup/cpu', name);
    candidates.push({ dir, kind: `cgroup v1 ${dir} (cpu.cfs_quota_us ${quota} per ${PERIOD_US})`, limit: () => {
      writeFileSync(join(dir, 'cpu.cfs_period_us'), String(PERIOD_US));
      writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(quota));
    } });
  }
  for (const c of candidates) {
    try {
      mkdirSync(c.dir);
      c.limit();
      const procs = join(c.dir, 'cgroup.procs');
      return {
        note: `CPU budget: ${cpus} CPU for proxy and service, ${c.kind}`,
        wrap: (command) => ['/bin/sh', '-c', `echo $$ > ${procs} && exec "$@"`, 'cpu-budget', ...command],
        remove: () => { try { rmdirSync(c.dir); } catch { /* a process still in it; the next run uses another name */ } },
      };
    } catch (err) {
      attempts.push(`${c.dir}: ${err instanceof Error ? err.message : String(err)}`);
      try { rmdirSync(c.dir); } catch { /* never made */ }
    }
  }
  return {
    note: `no CPU budget (${attempts.join('; ') || 'no cpu cgroup controller'}): proxy and service share the whole machine`,
    wrap: (command) => [...command],
    remove: () => {},
  };
}
