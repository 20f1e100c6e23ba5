/**
 * One network sampler for every network consumer of an agent (its OTLP
 * network service, SkyWalking NETWORK tasks, the continuous HTTP policies):
 * each consumer subscribes with its own targets, the kernel follows their
 * union once, and each drain hands every subscriber the records of its own
 * processes. Two consumers then cost what one does (one set of programs on
 * the syscall tracepoints), as the agent's collectors share one process
 * table and symbolizer.
 */
import { statSync } from 'node:fs';
import { unionKeeping, type HttpExchange, type RawNetworkBatch, type RequestKeeping, type TcpFlow } from '../stacks/network-records.js';
import { normalizeTargets, type DropCounts, type NormalizedTargets, type TargetSelection } from '../stacks/raw-stacks.js';
import type { NetworkSource } from './network-collector.js';

/** The shared sampler: subscriptions are NetworkSources a NetworkCollector drives as it would its own sampler. */
export interface SharedNetworkSampler {
  /** A new subscription over `targets`; nothing is loaded before its start(). */
  subscribe(targets: TargetSelection): NetworkSource;
  /** Subscriptions started and not stopped. */
  readonly subscribers: number;
  /** What the kernel follows now: the union of the started subscriptions' targets, undefined when stopped. */
  readonly followed: NormalizedTargets | undefined;
}

interface Subscription {
  targets: NormalizedTargets;
  wanted: ReadonlySet<number> | 'all' | 'none';
  keeping: RequestKeeping | undefined;
  exchanges: HttpExchange[];
  tcp: TcpFlow[];
  drops: DropCounts;
  /** Start of the window the next drain() returns; undefined before any batch arrived. */
  windowStart: bigint | undefined;
  windowEnd: bigint;
}

const wantedOf = (t: NormalizedTargets): Subscription['wanted'] => (typeof t === 'string' ? t : new Set(t));

const wants = (s: Subscription, tgid: number): boolean => s.wanted === 'all' || (s.wanted !== 'none' && s.wanted.has(tgid));

/** The union of selections: 'all' wins, 'none' adds nothing. */
export function unionTargets(all: readonly NormalizedTargets[]): NormalizedTargets {
  if (all.includes('all')) return 'all';
  const pids = new Set<number>();
  for (const t of all) if (typeof t !== 'string') for (const p of t) pids.add(p);
  return normalizeTargets([...pids]);
}

/** The identity of a file a path reaches (device and inode), or the path itself when it cannot be read. */
function fileIdentity(path: string): string {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return path;
  }
}

/**
 * Creates the shared sampler over `make`, which builds (not starts) a
 * network sampler following `targets`: it is made at the first
 * subscription's start() and stopped with the last one.
 */
export function createSharedNetworkSampler(make: (targets: TargetSelection) => NetworkSource): SharedNetworkSampler {
  const active = new Set<Subscription>();
  let sampler: NetworkSource | undefined;
  let followed: NormalizedTargets | undefined;
  // libssl files and Go binaries probed, by identity: subscribers reach one file through each process's root
  const probed = new Set<string>();

  // the kernel copies the request heads any subscriber may keep
  const keep = (): void => { sampler?.setKeeping?.(unionKeeping([...active].map((s) => s.keeping))); };

  const follow = (): void => {
    if (!sampler) return;
    const next = unionTargets([...active].map((s) => s.targets));
    if (followed !== undefined && JSON.stringify(next) === JSON.stringify(followed)) return;
    followed = next;
    sampler.setTargets(next);
  };

  /** Drains the kernel once and hands each subscriber its processes' part of the batch. */
  const drainKernel = (): void => {
    if (!sampler) return;
    const b: RawNetworkBatch = sampler.drain();
    const end = b.startTimeNs + b.durationNs;
    for (const s of active) {
      for (const e of b.exchanges) if (wants(s, e.tgid)) s.exchanges.push(e);
      for (const f of b.tcp) if (wants(s, f.tgid)) s.tcp.push(f);
      // the kernel's drops cannot be told apart by process: every subscriber sees them
      for (const [reason, n] of Object.entries(b.drops)) if (n > 0) s.drops[reason] = (s.drops[reason] ?? 0) + n;
      s.windowStart ??= b.startTimeNs;
      s.windowEnd = end;
    }
  };

  return {
    get subscribers() { return active.size; },
    get followed() { return followed; },
    subscribe(initial) {
      const s: Subscription = {
        targets: normalizeTargets(initial), wanted: 'none', keeping: undefined, exchanges: [], tcp: [], drops: {}, windowStart: undefined, windowEnd: 0n,
      };
      s.wanted = wantedOf(s.targets);
      let started = false;
      return {
        start() {
          if (started) throw new Error('starting network subscription: already started');
          if (!sampler) {
            const first = make(s.targets);
            first.setKeeping?.(s.keeping);
            first.start();
            sampler = first;
            followed = s.targets;
          } else {
            // what came before this subscriber is the others' alone
            drainKernel();
          }
          active.add(s);
          started = true;
          follow();
          keep();
        },
        drain(): RawNetworkBatch {
          if (!started) throw new Error('draining network subscription: not started: call start() first');
          drainKernel();
          const start = s.windowStart ?? s.windowEnd;
          const batch: RawNetworkBatch = { startTimeNs: start, durationNs: s.windowEnd - start, exchanges: s.exchanges, tcp: s.tcp, drops: s.drops };
          s.exchanges = [];
          s.tcp = [];
          s.drops = {};
          s.windowStart = s.windowEnd;
          return batch;
        },
        setKeeping(k) {
          s.keeping = k;
          if (started) keep();
        },
        setTargets(next) {
          s.targets = normalizeTargets(next);
          s.wanted = wantedOf(s.targets);
          if (started) follow();
        },
        addTlsLibraries(paths) {
          if (!sampler) throw new Error('probing tls libraries: network subscription not started: call start() first');
          let n = 0;
          for (const p of paths) {
            const id = fileIdentity(p);
            if (probed.has(id)) continue;
            // marked only once attached: a path whose process left meanwhile is tried again through another
            const added = sampler.addTlsLibraries([p]);
            if (added > 0) probed.add(id);
            n += added;
          }
          return n;
        },
        addGoTls(sites) {
          if (!sampler) throw new Error('probing Go TLS: network subscription not started: call start() first');
          const id = `go:${fileIdentity(sites.path)}`;
          if (probed.has(id)) return true;
          const ok = sampler.addGoTls(sites);
          if (ok) probed.add(id);
          return ok;
        },
        stop() {
          if (!started) return;
          started = false;
          active.delete(s);
          if (active.size > 0) {
            follow();
            keep();
            return;
          }
          const last = sampler;
          sampler = undefined;
          followed = undefined;
          probed.clear();
          last?.stop();
        },
      };
    },
  };
}
