/**
 * Where the network sampler probes Go's crypto/tls in one binary (found by
 * src/symbolize/tls-binaries.ts): file offsets, as uprobes take them.
 */
export interface GoTlsSites {
  /** The binary, as the agent can open it (through the process's root). */
  readonly path: string;
  /** Go release that built it, e.g. `go1.19.8`, when its build info says. */
  readonly goVersion: string | undefined;
  /** The stack check's `jbe` of crypto/tls.(*Conn).Write (see goStackCheckBranch): once per call, arguments intact. */
  readonly write: number;
  /** The same in crypto/tls.(*Conn).Read. */
  readonly read: number;
  /** Each RET instruction of crypto/tls.(*Conn).Read: its returns, without a uretprobe. */
  readonly readReturns: readonly number[];
}
