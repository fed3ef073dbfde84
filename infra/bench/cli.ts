// `nimmer bench …`: benchmarks, run on demand, never part of the test suite.
import type { Command } from 'commander';
import { runRaftBench } from './raft.ts';

const intList = (s: string) => s.split(',').map((x) => Number.parseInt(x, 10));

export function registerBenchCommands(program: Command): void {
  const bench = program.command('bench').description('run a benchmark (prints ratios against a baseline measured in the same run)');
  bench
    .command('raft')
    .description('one Raft group of 3 replicas in 3 processes over TCP with the fsync\'d WAL')
    .option('--seconds <n>', 'seconds per load level', '10')
    .option('--proposers <list>', 'concurrent proposers per level', '1,16,256')
    .option('--entry-bytes <n>', 'entry payload bytes', '256')
    .option('--idle-groups <n>', 'groups for the idle-memory figure', '1000')
    .option('--failover-trials <n>', 'leader kills to time', '3')
    .option('--tick-ms <n>', 'raft tick', '50')
    .option('--election-ticks <n>', 'election timeout in ticks', '10')
    .option('--out <file>', 'write the JSON report here', 'bench-results/raft.json')
    .option('--keep', 'keep the data directory')
    .action(async (o: Record<string, string | boolean>) => {
      await runRaftBench({
        seconds: Number(o.seconds),
        proposers: intList(String(o.proposers)),
        entryBytes: Number(o.entryBytes),
        idleGroups: Number(o.idleGroups),
        failoverTrials: Number(o.failoverTrials),
        tickMs: Number(o.tickMs),
        electionTicks: Number(o.electionTicks),
        out: o.out ? String(o.out) : undefined,
        keep: Boolean(o.keep),
      });
    });
}
