import { runAgent } from '../agent/agent.js';

/** `meshprof agent`: runs until SIGTERM/SIGINT, configured from the environment. */
export async function runAgentCommand(env: Readonly<Record<string, string | undefined>>): Promise<number> {
  return runAgent(env);
}
