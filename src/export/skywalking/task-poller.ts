/**
 * Asks OAP for profiling tasks (`queryTasks`) every 10 s, passing the newest
 * TaskUpdateTime seen, and hands new tasks to the runner.
 */
import { EBPFProfilingService } from '../../gen/skywalking/ebpf/profiling/Profile_pb.js';
import type { OapConnection } from './oap-connection.js';
import { PROFILING_TASK_COMMAND, parseProfilingTaskCommand, type ProfilingTask } from './task-command.js';
import { type Logger } from '../../log/logger.js';

/** Options; intervalMs defaults to Rover's 10 s. */
export interface TaskPollerOptions {
  readonly connection: OapConnection;
  readonly agentId: string;
  /** Starts a task; false when it could not be taken (see TaskRunner.run). */
  readonly run: (task: ProfilingTask) => boolean;
  /** True when every process of the task is known; unknown ones are asked for again later. */
  readonly knowsProcesses: (task: ProfilingTask) => boolean;
  readonly logger: Logger;
  readonly intervalMs?: number | undefined;
}

/** The polling loop. */
export interface TaskPoller {
  /** One query; resolves with the tasks accepted. */
  poll(): Promise<ProfilingTask[]>;
  latestUpdateTime(): number;
  start(): void;
  stop(): void;
}

/** Creates the poller; nothing is sent until start() or poll(). */
export function createTaskPoller(options: TaskPollerOptions): TaskPoller {
  let latest = 0;
  let timer: NodeJS.Timeout | undefined;
  let busy = false;

  async function poll(): Promise<ProfilingTask[]> {
    const accepted: ProfilingTask[] = [];
    let answer;
    try {
      answer = await options.connection.unary(EBPFProfilingService.method.queryTasks, {
        roverInstanceId: options.agentId,
        latestUpdateTime: BigInt(latest),
      });
    } catch (err) {
      options.logger.warn(`skywalking: querying profiling tasks: ${(err as Error).message}`);
      return accepted;
    }
    let next = latest;
    let deferred = Number.POSITIVE_INFINITY;
    for (const command of answer.commands) {
      if (command.command !== PROFILING_TASK_COMMAND) continue;
      let task: ProfilingTask;
      try {
        task = parseProfilingTaskCommand(command);
      } catch (err) {
        options.logger.warn(`skywalking: ${(err as Error).message}`);
        continue;
      }
      // A task for processes not registered yet is asked for again later.
      if (!options.knowsProcesses(task)) {
        options.logger.debug(`skywalking: profiling task ${task.taskId} names unknown processes, retrying later`);
        deferred = Math.min(deferred, task.updateTime);
        continue;
      }
      next = Math.max(next, task.updateTime);
      if (options.run(task)) accepted.push(task);
    }
    // Stay below every deferred task so OAP sends it again; the runner ignores
    // tasks it has already taken.
    latest = Math.max(latest, Math.min(next, deferred - 1));
    return accepted;
  }

  return {
    poll,
    latestUpdateTime: () => latest,
    start() {
      if (timer !== undefined) return;
      const tick = (): void => {
        if (busy) return;
        busy = true;
        void poll().finally(() => {
          busy = false;
        });
      };
      timer = setInterval(tick, options.intervalMs ?? 10_000);
      tick();
      timer.unref();
    },
    stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },
  };
}
