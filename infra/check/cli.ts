// `nimmer check …`: flags → options, run, exit code (0 pass, 1 violation, 2 too few acknowledged
// or undecided, 3 the run could not be carried out).
import { Option, type Command } from 'commander';
import { durationMsArg } from '../cli/cluster_commands.ts';
import { CheckConfigError, CheckOptionsSchema, NEMESES, WORKLOADS, type CheckOptionsInput } from './options.ts';
import { EXIT_CODE } from './report/report.ts';
import { runPipelineFromCli } from './pipeline_cli.ts';
import { runCheck } from './run.ts';

function intArg(name: string) {
  return (text: string): number => {
    const n = Number(text);
    if (!Number.isInteger(n)) throw new Error(`${name} must be an integer, got '${text}'`);
    return n;
  };
}

function oneOf(name: string, allowed: readonly string[]) {
  return (text: string): string => {
    if (!allowed.includes(text)) throw new Error(`${name} must be one of ${allowed.join(', ')}; got '${text}'`);
    return text;
  };
}

interface CheckFlags {
  workload: string;
  nemesis: string;
  time: number;
  clients: number;
  out?: string;
  seed?: number;
  minAcked: number;
  faultOn: number;
  faultOff: number;
  recovery: number;
  requestTimeout: number;
  convergenceTimeout: number;
  checkTimeout: number;
  url?: string;
  nodes: number;
  shards: number;
  keepData?: boolean;
}

/** A duration flag whose help shows its default as a duration (`60s`), not in ms. */
function duration(flags: string, description: string, defaultMs: number): Option {
  const shown = defaultMs % 1000 === 0 ? `${defaultMs / 1000}s` : `${defaultMs}ms`;
  return new Option(flags, description).argParser(durationMsArg).default(defaultMs, shown);
}

export function registerCheckCommand(program: Command): void {
  const d = CheckOptionsSchema.parse({});
  program
    .command('check')
    .description('a Jepsen-style run against a cluster it starts: concurrent clients, a nemesis, a recorded history, a checker, a report (JSON, Markdown, latency plot)')
    .option('--workload <name>', `${WORKLOADS.join(' | ')}`, oneOf('--workload', WORKLOADS), d.workload)
    .option('--nemesis <name>', `${NEMESES.join(' | ')}`, oneOf('--nemesis', NEMESES), d.nemesis)
    .addOption(duration('--time <duration>', 'how long the clients run, e.g. 60s or 2m', d.timeMs))
    .option('--clients <n>', 'concurrent clients', intArg('--clients'), d.clients)
    .option('--out <dir>', 'report directory (default check-results/<workload>-<nemesis>-<seed>)')
    .option('--seed <n>', 'seed of the fault plan and the clients (default: random, printed)', intArg('--seed'))
    .option('--min-acked <n>', 'fail the run with fewer acknowledged operations', intArg('--min-acked'), d.minAcked)
    .addOption(duration('--fault-on <duration>', 'length of a fault window (±20 %)', d.faultOnMs))
    .addOption(duration('--fault-off <duration>', 'time between fault windows (±20 %)', d.faultOffMs))
    .addOption(duration('--recovery <duration>', 'wait after the final heal before the final reads', d.recoveryMs))
    .addOption(duration('--request-timeout <duration>', 'a client request taking longer is indeterminate', d.requestTimeoutMs))
    .addOption(duration('--convergence-timeout <duration>', 'eventual state must converge this soon after the heal', d.convergenceTimeoutMs))
    .addOption(duration('--check-timeout <duration>', 'limit of the linearizability search', d.checkTimeoutMs))
    .option('--url <controller>', 'check a running `nimmer up` instead of starting a cluster')
    .option('--nodes <n>', 'nodes of the cluster the check starts', intArg('--nodes'), d.nodes)
    .option('--shards <n>', 'shards of the cluster the check starts', intArg('--shards'), d.shards)
    .option('--keep-data', "keep the started cluster's data dir even when the run passes")
    .addHelpText('after', `\nExit codes: ${Object.entries(EXIT_CODE).map(([verdict, code]) => `${code} ${verdict}`).join(', ')}.`)
    .action(async (f: CheckFlags) => {
      if (f.workload === 'pipeline') {
        process.exitCode = await runPipelineFromCli({ nemesis: f.nemesis, timeMs: f.time, keepData: f.keepData === true, ...(f.seed !== undefined ? { seed: f.seed } : {}) });
        return;
      }
      const input: CheckOptionsInput = {
        workload: f.workload as CheckOptionsInput['workload'],
        nemesis: f.nemesis as CheckOptionsInput['nemesis'],
        timeMs: f.time,
        clients: f.clients,
        minAcked: f.minAcked,
        faultOnMs: f.faultOn,
        faultOffMs: f.faultOff,
        recoveryMs: f.recovery,
        requestTimeoutMs: f.requestTimeout,
        convergenceTimeoutMs: f.convergenceTimeout,
        checkTimeoutMs: f.checkTimeout,
        nodes: f.nodes,
        shards: f.shards,
        keepData: f.keepData === true,
        ...(f.out !== undefined ? { outDir: f.out } : {}),
        ...(f.seed !== undefined ? { seed: f.seed } : {}),
        ...(f.url !== undefined ? { url: f.url } : {}),
      };
      try {
        const report = await runCheck(input, { handleSignals: true });
        process.exitCode = EXIT_CODE[report.verdict];
      } catch (e) {
        // Bad options, or a workload that does not exist yet: nothing ran.
        if (!(e instanceof CheckConfigError)) throw e;
        console.error(e.message);
        process.exitCode = EXIT_CODE.error;
      }
    });
}
