/**
 * The collect cycle, the same for the agent, `record` and SkyWalking tasks:
 * drain the sampler → load the symbols the batch needs → name its
 * addresses → build the profile → forget the processes that exited.
 */
import type { Profile } from './model.js';
import { buildProfile, type ProcessDescriber } from './profile-builder.js';
import { mergeBatches } from '../samplers/merge-batches.js';
import type { NamedStacks } from '../stacks/frames.js';
import type { RawStackBatch, TargetSelection } from '../stacks/raw-stacks.js';
import type { StackSampler } from '../samplers/stack-sampler.js';

/** What the collector needs from the process table. */
export interface ProcessObserver {
  /** Captures processes that appeared since the last call. */
  refresh(): void;
  /** Captures one process if it has not been seen; throws if it does not exist. */
  observe(pid: number): void;
  /** Pids of processes found gone, not yet forgotten. */
  exitedPids(): readonly number[];
  /** Forgets processes that exited (of `only`, when given), once their samples are symbolized; returns their pids. */
  forgetExited(only?: Iterable<number>): readonly number[] | void;
  /** A mark of the images processes exec'ed away from so far (ProcessTable.imageMark). */
  imageMark?(): number;
  /** Drops the images replaced up to `mark`, once the drain after it is named. */
  forgetEarlierImages?(mark: number): number;
}

/** What the collector needs from symbolization. */
export interface BatchSymbolizer {
  /** Loads the symbols the batch needs, off the main thread where it can. */
  load?(batch: RawStackBatch): Promise<void>;
  /** Names every sample's addresses, `stacks[i]` for `batch.samples[i]`. */
  name(batch: RawStackBatch): NamedStacks;
  /** Loads a live process's symbols now, so they resolve after it exits. */
  prepare?(pid: number): void;
}

/** What a collector is made of. */
export interface ProfileCollectorParts {
  readonly sampler: StackSampler;
  readonly processes: ProcessObserver;
  readonly symbolizer: BatchSymbolizer;
  /** Describes each sampled process (process table, then discovery's attributes). */
  readonly describe: ProcessDescriber;
  /** Processes named by the user: captured before sampling starts. */
  readonly explicitTargets?: readonly number[];
  /** Told which exited processes were forgotten, to free per-process state. */
  readonly onForgotten?: (pids: readonly number[]) => void;
  /** Captures processes at exec, between polls (createProcessTracking); optional. */
  readonly tracking?: { start(): void; stop(): void; readonly running?: boolean };
  /** Frees what the collector owns once stopped (its symbol table worker). */
  readonly onStop?: () => void;
  /**
   * Whether collect() drops exited processes from the table; default true.
   * False when the table is shared: its owner forgets them once every
   * collector has symbolized, and tells each through forgotten().
   */
  readonly forgetsExited?: boolean;
}

/**
 * Turns a kernel sampler into profiles: polls the sampler's maps often (every
 * second, or every drainEveryMs while exec tracking reads new programs) so
 * that short-lived processes are captured while they are still alive, and
 * symbolizes once per collection.
 */
export class ProfileCollector {
  private pending: RawStackBatch[] = [];
  private samples = 0;
  /** Processes already captured: each poll only reads the ones new to it. */
  private readonly captured = new Set<number>();

  private readonly sampler: StackSampler;
  private readonly processes: ProcessObserver;
  private readonly symbolizer: BatchSymbolizer;
  private readonly describe: ProcessDescriber;
  private readonly explicitTargets: readonly number[];
  private readonly onForgotten: (pids: readonly number[]) => void;
  private readonly tracking: { start(): void; stop(): void; readonly running?: boolean } | undefined;
  private readonly forgetsExited: boolean;
  private readonly onStop: () => void;

  constructor(parts: ProfileCollectorParts) {
    this.sampler = parts.sampler;
    this.processes = parts.processes;
    this.symbolizer = parts.symbolizer;
    this.describe = parts.describe;
    this.explicitTargets = parts.explicitTargets ?? [];
    this.onForgotten = parts.onForgotten ?? (() => {});
    this.tracking = parts.tracking;
    this.forgetsExited = parts.forgetsExited ?? true;
    this.onStop = parts.onStop ?? (() => {});
  }

  /** Captures the named targets, prepares the sampler (their unwind tables), and starts it. */
  async start(): Promise<void> {
    for (const pid of this.explicitTargets) this.capture(pid);
    this.processes.refresh();
    // Before the sampler: a program started in between is then seen at exec.
    this.tracking?.start();
    try {
      await this.sampler.prepare?.();
      this.sampler.start();
    } catch (err) {
      this.tracking?.stop();
      throw err;
    }
  }

  /** Reads `pid` on first sight; false when it was gone before it could be read. */
  private capture(pid: number): boolean {
    if (this.captured.has(pid)) return true;
    this.captured.add(pid);
    try {
      this.processes.observe(pid);
    } catch {
      // Gone before we could read it: the symbolizer counts its frames as
      // unknown. Not kept as captured: the table never holds it, so no exit
      // would drop it, and a new process under the pid must be read.
      this.captured.delete(pid);
      return false;
    }
    try {
      this.symbolizer.prepare?.(pid);
    } catch {
      // Its symbols load when its samples are named.
    }
    return true;
  }

  /** Drains the kernel maps into memory; returns the first value summed so far. */
  poll(): number {
    this.processes.refresh();
    const batch = this.sampler.drain();
    // Tried once per drain, not once per stack.
    const gone = new Set<number>();
    for (const s of batch.samples) {
      this.samples += s.values[0] ?? 0;
      if (s.tgid !== 0 && !gone.has(s.tgid) && !this.capture(s.tgid)) gone.add(s.tgid);
    }
    this.pending.push(batch);
    return this.samples;
  }

  /** How long poll() may wait when process tracking reads new programs meanwhile (StackSampler.drainEveryMs). */
  get drainEveryMs(): number {
    return this.sampler.drainEveryMs ?? 1000;
  }

  /** Whether its own exec tracking runs (not when the table and its tracking are shared). */
  get tracksExecs(): boolean {
    return this.tracking?.running === true;
  }

  /** Sum of the first value (samples or switches) since the last collect(). */
  get samplesSoFar(): number {
    return this.samples;
  }

  /** Everything since the previous collect(), symbolized. */
  async collect(): Promise<Profile> {
    // Gone before this drain: all their samples are in it. Others may be
    // found gone while symbols load, with samples still in the kernel maps.
    const exited = this.processes.exitedPids();
    // Likewise for images exec'ed away from: their stacks are all in this drain.
    const images = this.processes.imageMark?.();
    this.poll();
    const merged = mergeBatches(this.pending);
    this.pending = [];
    this.samples = 0;
    await this.symbolizer.load?.(merged);
    const profile = buildProfile(merged, this.symbolizer.name(merged), this.describe);
    if (this.forgetsExited) {
      this.forgotten(this.processes.forgetExited(exited) ?? []);
      if (images !== undefined) this.processes.forgetEarlierImages?.(images);
    }
    return profile;
  }

  /** Exited processes the table dropped: a reused pid is a new process, captured again when it shows up. */
  forgotten(pids: readonly number[]): void {
    for (const pid of pids) this.captured.delete(pid);
    this.onForgotten(pids);
  }

  /** Changes which processes the kernel samples (the discovery selection). */
  setTargets(targets: TargetSelection): void {
    this.sampler.setTargets(targets);
  }

  stop(): void {
    try {
      this.sampler.stop();
      this.tracking?.stop();
    } finally {
      this.onStop();
    }
  }
}
