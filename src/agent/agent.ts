import { pino, type Logger } from 'pino';
import type { AgentConfig } from '../config/agent-config.js';
import { readAgentEnv } from '../config/agent-env.js';
import { resolveAgentConfig } from '../config/validate-agent-config.js';
import { requireProfilingPrivileges } from '../kernel/privileges.js';
import type { Profile } from '../profile/model.js';
import { createCollector } from './collector-factory.js';
import { LocalProfileFiles } from './local-files.js';
import type { ProfileCollector } from './profile-collector.js';

/** Where each interval's profiles go: local files, exporters. */
export interface ProfileSink {
  readonly name: string;
  consume(kind: string, profile: Profile): Promise<void>;
  /** Flushes what is queued; must return by the deadline. */
  shutdown(deadlineMs: number): Promise<void>;
}

const pollMs = 1000;
const shutdownDeadlineMs = 10_000;

function summarize(profile: Profile): Record<string, unknown> {
  const totals = profile.sampleTypes.map((t, i) => `${profile.samples.reduce((a, s) => a + (s.values[i] ?? 0), 0)} ${t.type}/${t.unit}`);
  return { stacks: profile.samples.length, processes: new Set(profile.samples.map((s) => s.pid)).size, totals, dropped: profile.drops };
}

function localSink(config: AgentConfig, log: Logger): ProfileSink | undefined {
  if (config.outputDir === undefined || config.localFormats.length === 0) return undefined;
  const files = new LocalProfileFiles(config.outputDir, config.localFormats);
  return {
    name: 'local-files',
    async consume(kind, profile) {
      const paths = await files.write(kind, profile);
      log.info({ kind, paths }, 'wrote profile files');
    },
    async shutdown() {},
  };
}

/**
 * The controller: starts the samplers, collects once per interval, hands each
 * profile to every sink, and flushes the last interval on SIGTERM/SIGINT.
 */
export async function runAgent(env: Readonly<Record<string, string | undefined>>, extraSinks: readonly ProfileSink[] = []): Promise<number> {
  const config = resolveAgentConfig(readAgentEnv(env));
  const log = pino({ level: config.logLevel, base: { service: 'meshprof' } });
  requireProfilingPrivileges();

  const sinks = [localSink(config, log), ...extraSinks].filter((s): s is ProfileSink => s !== undefined);
  const collectors: { kind: string; collector: ProfileCollector }[] = config.profiles.map((kind) => ({
    kind,
    collector: createCollector(kind, { targets: 'all', frequencyHz: config.frequencyHz, includeIdle: config.includeIdle, procRoot: config.procRoot }),
  }));
  for (const c of collectors) c.collector.start();
  log.info({ intervalMs: config.intervalMs, profiles: config.profiles, sinks: sinks.map((s) => s.name) }, 'agent started');

  const stop = new AbortController();
  const onSignal = (signal: string): void => { log.info({ signal }, 'stopping: flushing the last interval'); stop.abort(); };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));

  const deliver = async (): Promise<void> => {
    for (const { kind, collector } of collectors) {
      const profile = collector.collect();
      log.info({ kind, ...summarize(profile) }, 'collected interval');
      for (const sink of sinks) {
        try {
          await sink.consume(kind, profile);
        } catch (err) {
          log.error({ sink: sink.name, kind, err: err instanceof Error ? err.message : String(err) }, 'sink failed: profile dropped for this sink');
        }
      }
    }
  };

  let intervalStart = Date.now();
  try {
    while (!stop.signal.aborted) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, pollMs);
        stop.signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
      });
      for (const c of collectors) c.collector.poll();
      if (Date.now() - intervalStart >= config.intervalMs) {
        intervalStart = Date.now();
        await deliver();
      }
    }
    await deliver();
  } finally {
    for (const c of collectors) c.collector.stop();
    await Promise.all(sinks.map((s) => s.shutdown(shutdownDeadlineMs)));
    log.info('agent stopped');
  }
  return 0;
}
