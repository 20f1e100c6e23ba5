/**
 * The network collect cycle, the counterpart of ProfileCollector for the
 * network sampler: poll() drains the kernel every second into the
 * aggregator (so the ring buffer and the TCP counters never fill) and puts
 * TLS uprobes on the libssl of processes it has not looked at yet (and on
 * their executable when it is Go or links OpenSSL statically);
 * collect() returns the report of the interval.
 */
import type { ProcessTable } from '../process/process-table.js';
import type { TargetSelection } from '../stacks/raw-stacks.js';
import type { RawNetworkBatch, RequestKeeping } from '../stacks/network-records.js';
import type { Logger } from '../log/logger.js';
import type { GoTlsSites } from '../samplers/go-tls-sites.js';
import type { ProcMapping } from '../process/proc-maps.js';
import { findTlsBinary } from '../symbolize/tls-binaries.js';
import { createNetworkAggregator, type NetworkAggregatorOptions } from './network-aggregator.js';
import type { NetworkReport } from './network-report.js';
import type { ProcessDescriber } from './profile-builder.js';

/** What the collector needs of the network sampler (src/samplers/network-sampler.ts). */
export interface NetworkSource {
  start(): void;
  drain(): RawNetworkBatch;
  setTargets(targets: TargetSelection): void;
  addTlsLibraries(paths: readonly string[]): number;
  addGoTls(sites: GoTlsSites): boolean;
  /** Which exchanges this consumer may keep (their HTTP/1.x heads are read for trace context); before start(). */
  setKeeping?(keeping: RequestKeeping | undefined): void;
  stop(): void;
}

export interface NetworkCollectorOptions extends NetworkAggregatorOptions {
  readonly sampler: NetworkSource;
  readonly processes: ProcessTable;
  readonly describe: ProcessDescriber;
  readonly targets: TargetSelection;
  /** Follow TLS through uprobes (libssl, OpenSSL linked in, Go crypto/tls); default true. */
  readonly tls?: boolean;
  readonly log?: Logger;
  /**
   * Sees every drained batch. With it, batches go only there (a SkyWalking
   * NETWORK task sums them its own way) and collect() reports nothing.
   */
  readonly observe?: (batch: RawNetworkBatch) => void;
  /** Which exchanges are kept one by one (for the sampler: their HTTP/1.x heads are read); default none. */
  readonly keeping?: RequestKeeping;
}

/** Collects network reports. */
export interface NetworkCollector {
  start(): Promise<void>;
  /** Drains the kernel into the interval's aggregate; returns the exchanges seen so far this interval. */
  poll(): number;
  /** The interval's report; starts the next interval. */
  collect(): NetworkReport;
  setTargets(targets: TargetSelection): void;
  stop(): void;
}

/** libssl.so*, libssl3.so and BoringSSL's libssl are all named so. */
const LIBSSL = /\/libssl[^/]*\.so[^/]*$/;
/** How often, with every process followed, the whole table is searched for new libssl files. */
const TLS_RESCAN_MS = 10_000;

/** Creates a network collector over a started-later sampler. */
export function createNetworkCollector(opts: NetworkCollectorOptions): NetworkCollector {
  const aggregator = createNetworkAggregator(opts);
  let targets = opts.targets;
  let exchanges = 0;
  const looked = new Set<number>();
  const probedFiles = new Set<string>();
  let lastScan = 0;

  /** The libssl files the processes map, each once (by device and inode), through their root. */
  const probeTls = (): void => {
    if (opts.tls === false) return;
    let pids: number[];
    if (targets === 'all') {
      if (Date.now() - lastScan < TLS_RESCAN_MS) return;
      lastScan = Date.now();
      opts.processes.refresh();
      pids = [...opts.processes.all()].map((p) => p.pid);
    } else {
      pids = targets === 'none' ? [] : [...targets];
    }
    const paths: string[] = [];
    const firstSight = (m: ProcMapping): boolean => {
      const id = `${m.devMajor}:${m.devMinor}:${m.inode}`;
      if (probedFiles.has(id)) return false;
      probedFiles.add(id);
      return true;
    };
    for (const pid of pids) {
      if (looked.has(pid)) continue;
      looked.add(pid);
      const p = opts.processes.tryObserve(pid);
      for (const m of p?.mappings ?? []) {
        if (!m.executable || !LIBSSL.test(m.path) || !firstSight(m)) continue;
        paths.push(`${opts.processes.procRoot}/${pid}/root${m.path}`);
      }
      // the binary itself: Go's crypto/tls, or a statically linked OpenSSL/BoringSSL (Envoy)
      const exe = p?.mappings.find((m) => m.executable && m.path === p.exePath);
      if (exe !== undefined && !LIBSSL.test(exe.path) && firstSight(exe)) {
        const path = `${opts.processes.procRoot}/${pid}/root${exe.path}`;
        let tls;
        try {
          tls = findTlsBinary(path);
        } catch (err) {
          opts.log?.warn(`tls: ${path} not looked at: ${(err as Error).message.split('\n')[0]}`);
          continue;
        }
        if (tls.kind === 'openssl') paths.push(path);
        else if (tls.kind === 'go' && opts.sampler.addGoTls(tls.sites)) {
          opts.log?.info(`tls: probing Go crypto/tls of ${path} (${tls.sites.goVersion ?? 'unknown Go'}, ${tls.sites.readReturns.length + 2} uprobes)`);
        } else if (tls.kind === 'none' && !/^neither|without crypto\/tls$/.test(tls.reason)) {
          // a Go binary with TLS that cannot be followed: say so; most binaries have no TLS of their own
          opts.log?.warn(`tls: ${path} not followed: ${tls.reason}`);
        }
      }
    }
    if (paths.length > 0) {
      const n = opts.sampler.addTlsLibraries(paths);
      opts.log?.info(`tls: probing ${n} of ${paths.length} libssl file(s): ${paths.join(', ')}`);
    }
  };

  const drainOnce = (): void => {
    const batch = opts.sampler.drain();
    exchanges += batch.exchanges.length;
    if (opts.observe !== undefined) {
      opts.observe(batch);
      return;
    }
    aggregator.add(batch);
    // seen now, so an exited process is still described at collect()
    for (const pid of aggregator.pids) opts.processes.tryObserve(pid);
  };

  return {
    async start() {
      opts.sampler.setKeeping?.(opts.keeping);
      opts.sampler.start();
      probeTls();
    },
    poll() {
      drainOnce();
      probeTls();
      return exchanges;
    },
    collect() {
      drainOnce();
      exchanges = 0;
      return aggregator.build(opts.describe);
    },
    setTargets(t) {
      targets = t;
      opts.sampler.setTargets(t);
      probeTls();
    },
    stop() {
      opts.sampler.stop();
    },
  };
}
