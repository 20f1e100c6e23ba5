/**
 * Bad environment variables, as users meet them: `meshprof agent` and
 * `meshprof record` list every bad one, one line each, and exit 1 before
 * starting anything. The CLI runs unprivileged (as nobody when the test runs
 * as root), so getting as far as the privilege check or the BPF samplers
 * would print that failure instead of the list.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath } from '../helpers/start-cli.js';
import { settingsList } from '../helpers/settings-list.js';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The test's environment without any MESHPROF_*, OTEL_* or ROVER_* setting. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(MESHPROF|OTEL|ROVER)_/.test(k)) env[k] = v;
  }
  return env;
}

const nobody = 65534;
const asRoot = process.getuid?.() === 0;

function cli(args: readonly string[], env: Record<string, string>): Promise<Run> {
  const child = spawn('node', [cliPath, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...cleanEnv(), ...env },
    ...(asRoot ? { uid: nobody, gid: nobody } : {}),
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('bad environment variables', () => {
  let dir: string;
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'meshprof-config-errors-')); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs the CLI unprivileged: without the bad variables it stops at the privilege check', async () => {
    // The control for the tests below: the same command and environment, minus the bad variables.
    const run = await cli(['agent'], { MESHPROF_OUTPUT_DIR: 'none' });
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/^meshprof: loading the eBPF samplers: missing /m);
    expect(run.stdout).not.toContain('agent started');
  });

  it('meshprof agent lists an agent and a discovery variable together and exits 1 before starting anything', async () => {
    const out = join(dir, 'agent-out');
    const run = await cli(['agent'], {
      MESHPROF_INTERVAL: '500ms',
      MESHPROF_TARGET_ROLES: 'boss',
      // would be created by the first interval's files, and would serve metrics
      MESHPROF_OUTPUT_DIR: out,
      MESHPROF_METRICS_ADDR: '127.0.0.1:0',
    });
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toContain(`meshprof: ${settingsList(
      'MESHPROF_INTERVAL=500ms: not a duration of at least 1s: use e.g. 15s or 1m',
      'reading MESHPROF_TARGET_ROLES: "boss" is not one of sidecar, app, ztunnel',
    )}\n`);
    expect(run.stderr).not.toContain('loading the eBPF samplers');
    expect(run.stdout).not.toContain('agent started');
    expect(existsSync(out)).toBe(false);
  });

  it('meshprof agent lists exporter variables with the rest', async () => {
    const run = await cli(['agent'], {
      OTEL_EXPORTER_OTLP_PROTOCOL: 'xml',
      MESHPROF_PYROSCOPE_URL: 'ftp://pyroscope',
      MESHPROF_KUBERNETES: 'maybe',
      MESHPROF_OUTPUT_DIR: 'none',
    });
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toContain(`meshprof: ${settingsList(
      'reading OTEL_EXPORTER_OTLP_PROTOCOL: unsupported protocol "xml" (use grpc or http/protobuf)',
      'reading MESHPROF_PYROSCOPE_URL: scheme ftp: is not http or https',
      'reading MESHPROF_KUBERNETES: "maybe" is not one of auto, on, off',
    )}\n`);
  });

  it('meshprof record lists the bad discovery variables before loading any BPF', async () => {
    const output = join(dir, 'record.pb.gz');
    const run = await cli(['record', '--duration', '1s', '--output', output], { MESHPROF_TARGET_PIDS: 'abc', MESHPROF_EXCLUDE_ROLES: 'boss' });
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toContain(`meshprof: ${settingsList(
      'reading MESHPROF_TARGET_PIDS: "abc" is not a process id',
      'reading MESHPROF_EXCLUDE_ROLES: "boss" is not one of sidecar, app, ztunnel',
    )}\n`);
    expect(run.stderr).not.toContain('recording ');
    expect(existsSync(output)).toBe(false);
  });
});
