import { runAgent } from '../agent/agent.js';
import { readConfigFile, withConfigFile } from '../config/config-file.js';

/** Flags of `meshprof agent`. */
export interface AgentOptions {
  /** A YAML file with the same keys as the environment; a set variable wins. */
  config?: string;
}

/** `meshprof agent`: runs until SIGTERM/SIGINT, configured from the environment (and --config). */
export async function runAgentCommand(env: Readonly<Record<string, string | undefined>>, opts: AgentOptions = {}): Promise<number> {
  return runAgent(opts.config === undefined ? env : withConfigFile(env, readConfigFile(opts.config)));
}
