import { runAgent } from '../agent/agent.js';

/** Flags of `meshprof agent`. */
export interface AgentOptions {
  /** A YAML file with the same keys as the environment; a set variable wins. */
  config?: string;
}

/** `meshprof agent`: runs until SIGTERM/SIGINT, configured from the environment (and --config). */
export async function runAgentCommand(env: Readonly<Record<string, string | undefined>>, opts: AgentOptions = {}): Promise<number> {
  if (opts.config === undefined) return runAgent(env);
  // The YAML parser loads only for --config.
  const { readConfigFile, withConfigFile } = await import('../config/config-file.js');
  return runAgent(withConfigFile(env, readConfigFile(opts.config)));
}
