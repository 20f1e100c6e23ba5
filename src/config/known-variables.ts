/**
 * Every environment variable `meshprof agent` reads, with its default and a
 * line of help: the source of `meshprof agent --help`, of the check that
 * names misspelled MESHPROF_* / ROVER_* variables at start, and of the keys
 * a `--config` file may hold. A test checks that every name the readers use
 * is listed here.
 */

/** One variable as `agent --help` shows it. */
export interface KnownVariable {
  readonly name: string;
  /** The default as a user would write it; '' when unset means off. */
  readonly default: string;
  readonly help: string;
}

const v = (name: string, dflt: string, help: string): KnownVariable => ({ name, default: dflt, help });

const target = (side: 'TARGET' | 'EXCLUDE'): KnownVariable[] => {
  const what = side === 'TARGET' ? 'profile only' : 'never profile';
  return [
    v(`MESHPROF_${side}_NAMESPACES`, '', `${what} pods of these namespaces: shop,payments`),
    v(`MESHPROF_${side}_LABELS`, '', `${what} pods matching this label selector: app=foo,tier!=db`),
    v(`MESHPROF_${side}_CONTAINERS`, '', `${what} these container names: istio-proxy`),
    v(`MESHPROF_${side}_EXE`, '', `${what} these executable basenames or /regex/: envoy,/^java/`),
    v(`MESHPROF_${side}_PIDS`, '', `${what} these process ids: 1234,5678`),
    v(`MESHPROF_${side}_ROLES`, '', `${what} these Istio roles: sidecar,app,ztunnel`),
  ];
};

/** The SkyWalking settings: meshprof's name, then Rover's, which is read when meshprof's is unset. */
const skywalking: readonly (readonly [string, string | undefined, string, string])[] = [
  ['ADDR', 'ROVER_BACKEND_ADDR', '', 'OAP gRPC address host:port; SkyWalking reporting is off when unset'],
  ['AUTHENTICATION', 'ROVER_BACKEND_AUTHENTICATION', '', 'token sent as Authentication metadata (never logged)'],
  ['TLS', 'ROVER_BACKEND_ENABLE_TLS', 'false', 'connect to OAP over TLS'],
  ['CA', 'ROVER_BACKEND_CA_PEM_PATH', '', 'CA certificate (PEM) for OAP'],
  ['CLIENT_CERT', 'ROVER_BACKEND_PEM_PATH', '', 'client certificate (PEM); with CLIENT_KEY'],
  ['CLIENT_KEY', 'ROVER_BACKEND_KEY_PATH', '', 'client key (PEM); with CLIENT_CERT'],
  ['INSECURE', 'ROVER_BACKEND_INSECURE_SKIP_VERIFY', 'false', 'accept any OAP certificate'],
  ['CLUSTER', 'ROVER_CORE_CLUSTER_NAME', '', 'prefix of service names: cluster::service'],
  ['NODE_NAME', 'ROVER_PROCESS_DISCOVERY_KUBERNETES_NODE_NAME', '', 'node name reported to OAP (also NODE_NAME)'],
  ['HOST_PROC', 'ROVER_HOST_PROC_MAPPING', '', "where the host's /proc is mounted (Rover's name also sets MESHPROF_HOST_PROC)"],
  ['HEARTBEAT_PERIOD', 'ROVER_PROCESS_DISCOVERY_HEARTBEAT_PERIOD', '20s', 'process keep-alive period (at least 1s)'],
  ['PROPERTIES_REPORT_PERIOD', 'ROVER_PROCESS_DISCOVERY_PROPERTIES_REPORT_PERIOD', '10', 'full re-report every this many heartbeats'],
  ['TASK_QUERY_INTERVAL', 'ROVER_PROFILING_CHECK_INTERVAL', '10s', 'profiling task query period (at least 1s)'],
  ['FLUSH_INTERVAL', 'ROVER_PROFILING_FLUSH_INTERVAL', '5s', 'task data flush period (at least 1s)'],
  ['CONTINUOUS_FETCH_INTERVAL', 'ROVER_PROFILING_CONTINUOUS_FETCH_INTERVAL', '1s', 'continuous-profiling metric fetch period (at least 1s)'],
  ['CONTINUOUS_CHECK_INTERVAL', 'ROVER_PROFILING_CONTINUOUS_CHECK_INTERVAL', '5s', 'continuous-profiling policy check period (at least 1s)'],
  ['CONTINUOUS_EXECUTE_DURATION', 'ROVER_PROFILING_CONTINUOUS_TRIGGER_EXECUTE_DURATION', '10m', 'how long a triggered task runs'],
  ['CONTINUOUS_SILENCE_DURATION', 'ROVER_PROFILING_CONTINUOUS_TRIGGER_SILENCE_DURATION', '20m', 'quiet time after a trigger'],
  ['NETWORK_REPORT_INTERVAL', 'ROVER_PROFILING_TASK_NETWORK_TOPOLOGY_REPORT_INTERVAL', '2s', 'NETWORK task meters and sampled requests send period (at least 1s)'],
  ['NETWORK_METER_PREFIX', 'ROVER_PROFILING_TASK_NETWORK_TOPOLOGY_METER_PREFIX', 'rover_net_p', 'prefix of NETWORK task meter names'],
];

const otlp = (signal: string, what: string): KnownVariable[] => [
  v(`OTEL_EXPORTER_OTLP_${signal}ENDPOINT`, '', `OTLP ${what} endpoint (http://host:4318 or, with grpc, host:4317); export is off when unset`),
  v(`OTEL_EXPORTER_OTLP_${signal}PROTOCOL`, 'http/protobuf', 'grpc or http/protobuf'),
  v(`OTEL_EXPORTER_OTLP_${signal}HEADERS`, '', 'headers k=v,k2=v2 (percent-encoded); checked at start'),
  v(`OTEL_EXPORTER_OTLP_${signal}COMPRESSION`, 'none', 'gzip or none'),
  v(`OTEL_EXPORTER_OTLP_${signal}TIMEOUT`, '10000', 'per-request timeout, ms (or 10s)'),
  v(`OTEL_EXPORTER_OTLP_${signal}CERTIFICATE`, '', 'CA certificate (PEM)'),
  v(`OTEL_EXPORTER_OTLP_${signal}CLIENT_KEY`, '', 'client key (PEM)'),
  v(`OTEL_EXPORTER_OTLP_${signal}CLIENT_CERTIFICATE`, '', 'client certificate (PEM)'),
  v(`OTEL_EXPORTER_OTLP_${signal}INSECURE`, 'false', 'gRPC without TLS when the endpoint has no scheme'),
];

/** Every variable, grouped as `agent --help` prints them. */
export const KNOWN_VARIABLE_GROUPS: readonly { readonly title: string; readonly variables: readonly KnownVariable[] }[] = [
  {
    title: 'Sampling',
    variables: [
      v('MESHPROF_PROFILES', 'oncpu', 'comma-separated: oncpu, offcpu, memory, page-faults, network'),
      v('MESHPROF_INTERVAL', '15s', 'length of one collection interval (at least 1s)'),
      v('MESHPROF_FREQUENCY', '99', 'on-CPU samples per second per CPU, 1 to 10000'),
      v('MESHPROF_INCLUDE_IDLE', 'false', 'include the idle task (pid 0)'),
      v('MESHPROF_MEMORY_RATE', '512KiB', 'memory: mean bytes between sampled allocations'),
      v('MESHPROF_KEEP_MANGLED', 'false', 'keep C++/Rust names mangled'),
      v('MESHPROF_LINE_INFO', 'false', 'add file:line from DWARF (costs CPU and memory)'),
      v('MESHPROF_UNWIND', 'eh-frame', 'eh-frame or frame-pointers'),
      v('MESHPROF_UNWIND_TABLE_MEMORY', '16MiB', 'kernel memory for unwind tables'),
      v('MESHPROF_HOST_PROC', '/proc', "the host's /proc (/host/proc in a container); checked at start"),
      v('MESHPROF_CACHE_DIR', '~/.cache/meshprof (root: /var/cache/meshprof)', 'disk cache of built tables; none turns it off'),
      v('MESHPROF_CACHE_MAX_BYTES', '256MiB', 'bound of the disk cache'),
    ],
  },
  {
    title: 'Targets (all processes when none is set)',
    variables: [
      v('MESHPROF_KUBERNETES', 'auto', 'auto, on or off: watch this node\'s pods through the API server'),
      v('MESHPROF_NODE_NAME', 'hostname', 'node whose pods are watched'),
      v('MESHPROF_READ_ENVIRON', 'true', 'read OTEL_SERVICE_NAME from /proc/PID/environ'),
      ...target('TARGET'),
      ...target('EXCLUDE'),
    ],
  },
  {
    title: 'Labels',
    variables: [
      v('MESHPROF_POD_LABELS', '', 'pod label keys copied as k8s.pod.label.<key>: app,version'),
      v('MESHPROF_POD_ANNOTATIONS', '', 'pod annotation keys copied as k8s.pod.annotation.<key>'),
      v('MESHPROF_CLUSTER_NAME', '', 'k8s.cluster.name on every process'),
      v('MESHPROF_RELABEL', '', 'Prometheus-style relabelling rules, a JSON list (docs/configuration.md)'),
    ],
  },
  {
    title: 'Local files',
    variables: [
      v('MESHPROF_OUTPUT_DIR', 'profiles', 'directory of local profile files; none turns them off; checked at start'),
      v('MESHPROF_LOCAL_FORMATS', 'pprof', 'comma-separated: pprof, html, folded'),
      v('MESHPROF_OUTPUT_MODE', '0600', 'file permissions (octal); a created directory gets x where r is set (0700)'),
      v('MESHPROF_OUTPUT_MAX_BYTES', '1GiB', 'total size of local files; the oldest are deleted first'),
    ],
  },
  {
    title: 'Export',
    variables: [
      ...otlp('', 'profiles (and metrics, logs)'),
      ...otlp('PROFILES_', 'profiles'),
      ...otlp('METRICS_', 'metrics (network)'),
      ...otlp('LOGS_', 'logs (slow and failed requests)'),
      v('OTEL_SERVICE_NAME', '', 'service.name of processes that set none'),
      v('OTEL_RESOURCE_ATTRIBUTES', '', 'extra resource attributes k=v,k2=v2'),
      v('OTEL_TRACES_EXPORTER', 'none', 'otlp sends the agent\'s own spans'),
      v('MESHPROF_PYROSCOPE_URL', '', 'Pyroscope base URL (http://pyroscope:4040); export is off when unset'),
      v('MESHPROF_PYROSCOPE_API', 'auto', 'push, ingest or auto'),
      v('MESHPROF_PYROSCOPE_TENANT_ID', '', 'sent as X-Scope-OrgID'),
      v('MESHPROF_PYROSCOPE_BASIC_AUTH_USER', '', 'basic auth user'),
      v('MESHPROF_PYROSCOPE_BASIC_AUTH_PASSWORD', '', 'basic auth password'),
      v('MESHPROF_PYROSCOPE_BEARER_TOKEN', '', 'bearer token (not with basic auth)'),
      v('MESHPROF_PYROSCOPE_TIMEOUT', '10000', 'per-request timeout, ms (or 10s)'),
      v('MESHPROF_EXPORT_QUEUE_MAX_REQUESTS', '256', 'bound of each exporter\'s queue, in requests'),
      v('MESHPROF_EXPORT_QUEUE_MAX_BYTES', '64MiB', 'bound of each exporter\'s queue, in bytes'),
      v('MESHPROF_EXPORT_RETRY_MAX_ATTEMPTS', 'unlimited', 'attempts per request'),
      v('MESHPROF_EXPORT_RETRY_INITIAL_BACKOFF', '1s', 'first wait before a retry'),
      v('MESHPROF_EXPORT_RETRY_MAX_BACKOFF', '30s', 'longest wait between retries'),
      v('MESHPROF_EXPORT_RETRY_MAX_ELAPSED', '5m', 'give a request up after this long'),
      v('MESHPROF_EXPORT_MAX_REQUEST_BYTES', '4MiB', 'largest request; bigger intervals are split by process'),
      v('MESHPROF_SHUTDOWN_TIMEOUT', '10s', 'how long SIGTERM waits for the last interval to be delivered'),
    ],
  },
  {
    title: 'SkyWalking (Rover\'s names in parentheses are read too)',
    variables: skywalking.flatMap(([suffix, rover, dflt, help]) => [
      v(`MESHPROF_SKYWALKING_${suffix}`, dflt, rover === undefined ? help : `${help} (${rover})`),
      ...(rover === undefined ? [] : [v(rover, dflt, `Rover's name of MESHPROF_SKYWALKING_${suffix}`)]),
    ]),
  },
  {
    title: 'Network profiling',
    variables: [
      v('MESHPROF_NETWORK_SLOW', '100ms', 'requests at least this long are kept one by one'),
      v('MESHPROF_NETWORK_PATHS', 'false', 'add url.path to the HTTP histograms'),
      v('MESHPROF_NETWORK_MAX_PATHS', '100', 'distinct paths per process'),
      v('MESHPROF_NETWORK_TLS', 'true', 'follow TLS through uprobes (libssl, OpenSSL linked in, Go crypto/tls)'),
      v('MESHPROF_NETWORK_HEAD_BYTES', '1024', 'bytes of each kept HTTP/1 request head read for its sw8/traceparent/b3 headers; 0 off'),
    ],
  },
  {
    title: 'Receiver (off unless an endpoint is set)',
    variables: [
      v('MESHPROF_RECEIVER_GRPC_ENDPOINT', '', 'OTLP/gRPC listen address host:port (a port alone: loopback)'),
      v('MESHPROF_RECEIVER_HTTP_ENDPOINT', '', 'OTLP/HTTP and Pyroscope listen address (a port alone: loopback)'),
      v('MESHPROF_RECEIVER_AUTH_TOKEN', '', 'bearer token every request must carry'),
      v('MESHPROF_RECEIVER_MAX_BYTES', '4MiB', 'largest request'),
      v('MESHPROF_RECEIVER_TLS_CERT_FILE', '', 'serve TLS: certificate (with KEY_FILE)'),
      v('MESHPROF_RECEIVER_TLS_KEY_FILE', '', 'serve TLS: key (with CERT_FILE)'),
    ],
  },
  {
    title: 'Operation',
    variables: [
      v('MESHPROF_LOG_LEVEL', 'info', 'trace, debug, info, warn, error or silent'),
      v('ROVER_LOGGER_LEVEL', '', 'Rover\'s level (DEBUG, INFO, WARNING, ...), read when MESHPROF_LOG_LEVEL is unset'),
      v('MESHPROF_LOG_FORMAT', 'auto', 'json, text, or auto: text on a terminal, else json'),
      v('ROVER_HOST_MAPPING', '', 'Rover\'s host root: its proc directory is the host /proc when MESHPROF_HOST_PROC is unset'),
      v('MESHPROF_METRICS_ADDR', '', 'Prometheus /metrics: :9464 binds loopback; 0.0.0.0:9464 every interface (no auth)'),
    ],
  },
];

/** Every known variable by name. */
export const KNOWN_VARIABLES: ReadonlyMap<string, KnownVariable> = new Map(
  KNOWN_VARIABLE_GROUPS.flatMap((g) => g.variables).map((k) => [k.name, k]),
);

/** Edit distance (insert, delete, substitute, swap of neighbours), for "did you mean". */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** The known name closest to `name`, when close enough to be a slip (at most a third of its length away). */
export function closestKnownVariable(name: string): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const known of KNOWN_VARIABLES.keys()) {
    const distance = editDistance(name.toUpperCase(), known);
    if (best === undefined || distance < best.distance) best = { name: known, distance };
  }
  return best !== undefined && best.distance <= Math.max(2, Math.floor(name.length / 3)) ? best.name : undefined;
}

/** What to say about a name the agent does not read. */
export function unknownVariableMessage(name: string): string {
  const closest = closestKnownVariable(name);
  return closest === undefined ? `${name}: unknown; meshprof agent --help lists the variables it reads` : `${name}: unknown; did you mean ${closest}?`;
}

/** The MESHPROF_* and ROVER_* variables in env that the agent does not read, each with its message. */
export function unknownVariables(env: Readonly<Record<string, string | undefined>>): string[] {
  return Object.keys(env)
    .filter((name) => /^(MESHPROF|ROVER)_/.test(name) && !KNOWN_VARIABLES.has(name))
    .sort()
    .map(unknownVariableMessage);
}

/** The variables as `meshprof agent --help` prints them: one group per heading, name, default, help. */
export function formatVariablesHelp(): string {
  const lines = ['', 'Environment variables (default in brackets; a --config file may set the same keys, the environment wins):'];
  for (const group of KNOWN_VARIABLE_GROUPS) {
    lines.push('', `${group.title}:`);
    for (const k of group.variables) lines.push(`  ${k.name} [${k.default === '' ? 'unset' : k.default}]`, `      ${k.help}`);
  }
  return `${lines.join('\n')}\n`;
}
