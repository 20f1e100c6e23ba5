/**
 * Parses /proc/PID/cgroup into the container and pod a process belongs to.
 * Pure functions: the reading happens in process/proc-reader.ts.
 */

/** Container runtime, as the cgroup path names it. */
export type ContainerRuntime = 'containerd' | 'cri-o' | 'docker' | 'podman' | 'unknown';

/** Kubernetes QoS class, from kubelet's cgroup layout. */
export type QosClass = 'Guaranteed' | 'Burstable' | 'BestEffort';

/** What a process's cgroup paths say about its container and pod. */
export interface CgroupInfo {
  /** 64 lowercase hex digits, when the process runs in a container. */
  readonly containerId: string | undefined;
  readonly runtime: ContainerRuntime | undefined;
  /** Pod UID with dashes, when kubelet created the cgroup. */
  readonly podUid: string | undefined;
  readonly qosClass: QosClass | undefined;
  /** The path the facts came from (v2 preferred), '' when none. */
  readonly path: string;
}

/** One line of /proc/PID/cgroup: `hierarchy-id:controllers:path`. */
export interface CgroupLine {
  readonly hierarchyId: number;
  /** Empty for the v2 unified hierarchy. */
  readonly controllers: readonly string[];
  readonly path: string;
}

const HEX64 = '([0-9a-f]{64})';
// Scoped names, as systemd-driven runtimes create them. conmon scopes
// (crio-conmon-, libpod-conmon-) hold the monitor, not the container.
const SCOPED: ReadonlyArray<readonly [RegExp, ContainerRuntime]> = [
  [new RegExp(`^cri-containerd-${HEX64}\\.scope$`), 'containerd'],
  [new RegExp(`^crio-${HEX64}(?:\\.scope)?$`), 'cri-o'],
  [new RegExp(`^docker-${HEX64}\\.scope$`), 'docker'],
  [new RegExp(`^libpod-${HEX64}(?:\\.scope)?$`), 'podman'],
];
const BARE = new RegExp(`^${HEX64}$`);
const POD_SYSTEMD = /^kubepods(?:-besteffort|-burstable)?-pod([0-9a-f_]{36})\.slice$/;
const POD_CGROUPFS = /^pod([0-9a-f-]{36})$/;

/** Splits the file into lines; the path may itself contain ':'. */
export function parseCgroupLines(text: string): CgroupLine[] {
  const out: CgroupLine[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const a = line.indexOf(':');
    const b = a < 0 ? -1 : line.indexOf(':', a + 1);
    if (b < 0) continue;
    const id = Number(line.slice(0, a));
    if (!Number.isInteger(id)) continue;
    const ctrl = line.slice(a + 1, b);
    out.push({ hierarchyId: id, controllers: ctrl === '' ? [] : ctrl.split(','), path: line.slice(b + 1) });
  }
  return out;
}

/** Extracts container id, runtime, pod UID and QoS class from one cgroup path. */
export function parseCgroupPath(path: string): CgroupInfo {
  const segs = path.split('/').filter((s) => s !== '' && s !== '..' && s !== '.');
  let containerId: string | undefined;
  let runtime: ContainerRuntime | undefined;
  let podUid: string | undefined;
  let qosClass: QosClass | undefined;
  let underKubepods = false;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i] ?? '';
    const parent = i > 0 ? segs[i - 1] : undefined;
    if (seg === 'kubepods' || seg === 'kubepods.slice' || seg.endsWith('-kubepods.slice')) {
      underKubepods = true;
      qosClass ??= 'Guaranteed';
    }
    if (seg === 'kubepods-burstable.slice' || (underKubepods && seg === 'burstable')) qosClass = 'Burstable';
    if (seg === 'kubepods-besteffort.slice' || (underKubepods && seg === 'besteffort')) qosClass = 'BestEffort';
    const pod = POD_SYSTEMD.exec(seg) ?? (underKubepods ? POD_CGROUPFS.exec(seg) : null);
    if (pod?.[1] !== undefined) podUid = pod[1].replaceAll('_', '-');
    // The innermost container wins: a kind node's pods sit inside the node's own container.
    for (const [re, rt] of SCOPED) {
      const m = re.exec(seg);
      if (m?.[1] !== undefined) {
        containerId = m[1];
        runtime = rt;
      }
    }
    const bare = BARE.exec(seg);
    if (bare?.[1] !== undefined) {
      containerId = bare[1];
      runtime = bareRuntime(parent);
    }
  }
  if (podUid === undefined && !underKubepods) qosClass = undefined;
  return { containerId, runtime, podUid, qosClass, path };
}

function bareRuntime(parent: string | undefined): ContainerRuntime {
  if (parent === 'docker') return 'docker';
  if (parent === 'libpod_parent') return 'podman';
  // A cgroupfs-driven kubelet does not put the runtime in the path.
  return 'unknown';
}

/**
 * Parses a whole /proc/PID/cgroup file. The v2 line is tried first, then
 * the v1 lines in order; the first that names a container or pod wins.
 */
export function parseCgroupFile(text: string): CgroupInfo {
  const lines = parseCgroupLines(text);
  const ordered = [...lines.filter((l) => l.hierarchyId === 0), ...lines.filter((l) => l.hierarchyId !== 0)];
  let fallback: CgroupInfo | undefined;
  for (const l of ordered) {
    const info = parseCgroupPath(l.path);
    if (info.containerId !== undefined) return info;
    if (info.podUid !== undefined) fallback ??= info;
  }
  return fallback ?? { containerId: undefined, runtime: undefined, podUid: undefined, qosClass: undefined, path: ordered[0]?.path ?? '' };
}
