/**
 * Creates real cgroups on this machine named exactly as kubelet and
 * containerd name them, moves processes into them, and undoes it all.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where this machine mounts the hierarchies (cgroup v1 hybrid, v2 at unified). */
export const V2_ROOT = existsSync('/sys/fs/cgroup/unified/cgroup.procs') ? '/sys/fs/cgroup/unified' : '/sys/fs/cgroup';
export const V1_ROOTS = ['/sys/fs/cgroup/pids', '/sys/fs/cgroup/systemd'].filter((r) => existsSync(join(r, 'cgroup.procs')));

/** The systemd-driver path of a containerd container: kubepods.slice/…/cri-containerd-<id>.scope. */
export function systemdContainerPath(qos: 'burstable' | 'besteffort', podUid: string, id: string): string {
  const pod = `kubepods-${qos}-pod${podUid.replaceAll('-', '_')}.slice`;
  return `kubepods.slice/kubepods-${qos}.slice/${pod}/cri-containerd-${id}.scope`;
}

/** The cgroupfs-driver path: kubepods/<qos>/pod<uid>/<id>. */
export function cgroupfsContainerPath(qos: 'burstable' | 'besteffort', podUid: string, id: string): string {
  return `kubepods/${qos}/pod${podUid}/${id}`;
}

/** Tracks what a test created so cleanup() can undo exactly that. */
export interface CgroupSandbox {
  /** Creates `rel` under `root` (each missing level) and moves `pid` into it. */
  place(root: string, rel: string, pid: number): void;
  /** Moves every placed pid back to its root, then removes created dirs deepest first. */
  cleanup(): void;
}

export function createCgroupSandbox(): CgroupSandbox {
  const created: string[] = [];
  const placed: Array<{ root: string; pid: number }> = [];
  return {
    place(root, rel, pid) {
      let dir = root;
      for (const seg of rel.split('/')) {
        dir = join(dir, seg);
        if (!existsSync(dir)) {
          mkdirSync(dir);
          created.push(dir);
        }
      }
      writeFileSync(join(dir, 'cgroup.procs'), String(pid));
      placed.push({ root, pid });
    },
    cleanup() {
      for (const { root, pid } of placed) {
        try {
          writeFileSync(join(root, 'cgroup.procs'), String(pid));
        } catch {
          // Already exited: nothing to move.
        }
      }
      for (const dir of created.sort((a, b) => b.length - a.length)) {
        try {
          // A dir still holding a process (or a child) cannot go; report it rather than hide it.
          rmdirSync(dir);
        } catch (err) {
          const procs = existsSync(join(dir, 'cgroup.procs')) ? readFileSync(join(dir, 'cgroup.procs'), 'utf8') : '';
          throw new Error(`removing cgroup ${dir}: ${(err as Error).message} (procs: ${procs.trim()})`);
        }
      }
      created.length = 0;
      placed.length = 0;
    },
  };
}
