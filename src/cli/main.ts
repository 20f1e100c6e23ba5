import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { packageRoot } from '../kernel/package-root.js';
import type { RecordOptions } from './record-command.js';
import type { DiffOptions } from './diff-command.js';
import type { AgentOptions } from './agent-command.js';
import { formatVariablesHelp } from '../config/known-variables.js';
import { RECORD_KINDS } from '../profile/profile-kinds.js';
import { UsageError } from './usage-error.js';

/** Exit code for a bad flag or argument, as most Unix tools use. */
const usageExitCode = 2;

function version(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

// Each command is imported when it runs: loading every command's dependencies
// (encoders, exporters, gRPC, OpenTelemetry) would take most of a second.
function buildProgram(run: { code: number; task?: () => Promise<number> }): Command {
  const program = new Command('meshprof')
    .description('eBPF profiler for Kubernetes and Istio: on-CPU, off-CPU and memory stacks, network metrics')
    .version(version(), '-V, --version', 'print the version and exit')
    .exitOverride()
    .showHelpAfterError('(run meshprof <command> --help for usage)')
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  program
    .command('record')
    .description('profile processes for a while and write one file (format from the name: .pb.gz/.pprof, .folded, .html, .otlp.pb, .otlp.json)')
    .option('-p, --pid <pids...>', 'process ids to profile (repeatable or comma-separated)')
    .option('-a, --all', 'profile every process on the host (the default)')
    .option('-d, --duration <duration>', 'how long to record, e.g. 10s, 500ms, 2m', '10s')
    .option('-F, --frequency <hz>', 'on-CPU samples per second per CPU', '99')
    .option('-o, --output <file>', 'where to write the profile', 'profile.pb.gz')
    .addOption(new Option('-f, --format <format>', 'override the format the file name implies (json: network only)').choices(['pprof', 'folded', 'html', 'otlp', 'otlp-json', 'json']))
    .addOption(new Option('-t, --type <type>', 'what to profile (network: HTTP and TCP metrics, written as .json, .html, .otlp.json or .otlp.pb)').choices(RECORD_KINDS).default('oncpu'))
    .addOption(new Option('--value <value>', 'folded output: off-CPU total blocked time (default) or number of switches; memory in-use bytes (default), objects, or allocated bytes, objects')
      .choices(['duration', 'switches', 'inuse_space', 'inuse_objects', 'alloc_space', 'alloc_objects']))
    .option('--min-block <duration>', 'off-CPU: ignore blocks shorter than this (e.g. 1ms)', '1us')
    .option('--max-block <duration>', 'off-CPU: ignore blocks longer than this')
    .addOption(new Option('--state <state>', 'off-CPU: which switches to keep').choices(['all', 'sleep', 'preempt']).default('all'))
    .option('--memory-rate <bytes>', 'memory: mean bytes between sampled allocations (e.g. 512KiB; 1 records every allocation)', '512KiB')
    .option('--include-idle', 'include the idle task (pid 0)', false)
    .option('--keep-mangled', 'keep C++ and Rust symbol names mangled', false)
    .option('--line-info', 'add file:line from DWARF line tables where present (slower)', false)
    .addOption(new Option('--unwind <method>', 'user stacks: .eh_frame tables in the kernel (falling back to frame pointers), or frame pointers only')
      .choices(['eh-frame', 'frame-pointers']).default('eh-frame'))
    .action((opts: RecordOptions) => { run.task = async () => (await import('./record-command.js')).runRecordCommand(opts); });

  program
    .command('diff')
    .description('compare two recordings (pprof or folded) stack by stack, by function names: writes NEW - BASE as .pb.gz, a two-column .folded or a differential flame graph .html')
    .argument('<base>', 'the recording before the change')
    .argument('<new>', 'the recording after the change')
    .option('-o, --output <file>', 'where to write the difference', 'diff.html')
    .addOption(new Option('-f, --format <format>', 'override the format the file name implies').choices(['pprof', 'folded', 'html']))
    .option('--value <type>', 'folded output: which sample type to print (e.g. switches, duration, inuse_space); default off-CPU duration, in-use bytes or the first')
    .action((base: string, next: string, opts: DiffOptions) => { run.task = async () => (await import('./diff-command.js')).runDiffCommand(base, next, opts); });

  program
    .command('agent')
    .description('profile continuously and export each interval (configured by MESHPROF_* and OTEL_* environment variables)')
    .option('--config <file>', 'read settings from a YAML file with the variables as keys (a set environment variable wins)')
    .addHelpText('after', formatVariablesHelp)
    .action((opts: AgentOptions) => { run.task = async () => (await import('./agent-command.js')).runAgentCommand(process.env, opts); });

  program
    .command('check')
    .description('show what this kernel and these privileges allow; exit 1 if profiling cannot work')
    .action(() => { run.task = async () => (await import('./check-command.js')).runCheckCommand(); });

  return program;
}

/** Parses argv, runs the chosen command and returns the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const run: { code: number; task?: () => Promise<number> } = { code: 0 };
  const program = buildProgram(run);
  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with exit code 0.
      return err.exitCode === 0 ? 0 : usageExitCode;
    }
    throw err;
  }
  if (run.task === undefined) {
    program.outputHelp();
    return usageExitCode;
  }
  try {
    return await run.task();
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`meshprof: ${err.message}\n`);
      return usageExitCode;
    }
    process.stderr.write(`meshprof: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
