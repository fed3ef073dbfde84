// `nimmer bench …`: benchmarks, run on demand, never part of the test suite.
import type { Command } from 'commander';
import { runClusterBench } from './cluster.ts';
import { runRaftBench } from './raft.ts';
import { runTransportBench } from './transport.ts';

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
  bench
    .command('cluster')
    .description('3 nimmer node processes vs 3 etcd 3.4 members, end-to-end through HTTP with the same load generator: linearizable writes and reads, ratios, RSS')
    .option('--seconds <n>', 'measured seconds per load level', '10')
    .option('--warmup-seconds <n>', 'warm-up seconds before each level', '2')
    .option('--clients <list>', 'concurrent closed-loop clients per level', '1,64,256')
    .option('--value-bytes <n>', 'etcd value size (nimmer values are integers 0..100)', '8')
    .option('--shards <n>', 'nimmer shards for the load (registers = shards × catalogue axes; etcd gets as many keys)', '4')
    .option('--rss-shards <list>', 'shard counts for the idle RSS figure (fresh cluster each)', '4,64')
    .option('--tick-ms <n>', 'nimmer raft tick', '50')
    .option('--profile', 'afterwards, profile the nimmer node processes (--cpu-prof) under the highest load and list the hot spots')
    .option('--out <file>', 'write the JSON report here', 'bench-results/cluster.json')
    .option('--md <file>', 'write the Markdown summary here', 'bench-results/cluster.md')
    .option('--keep', 'keep the work directory (etcd data and logs, profiles)')
    .action(async (o: Record<string, string | boolean>) => {
      await runClusterBench({
        seconds: Number(o.seconds),
        warmupSeconds: Number(o.warmupSeconds),
        clients: intList(String(o.clients)),
        valueBytes: Number(o.valueBytes),
        shards: Number(o.shards),
        rssShards: intList(String(o.rssShards)),
        tickMs: Number(o.tickMs),
        profile: Boolean(o.profile),
        out: o.out ? String(o.out) : undefined,
        md: o.md ? String(o.md) : undefined,
        keep: Boolean(o.keep),
      });
    });
  bench
    .command('transport')
    .description('Postgres → JetStream: one relay\'s max publishes/s and commit → stored latency at a paced rate, against raw JetStream publish and a polling outbox measured in the same run')
    .option('--rates <list>', 'paced publishes per second for the latency runs', '5000,1000')
    .option('--seconds <n>', 'seconds of paced load', '10')
    .option('--per-txn <n>', 'publishes per transaction in the paced run', '5')
    .option('--clients <n>', 'concurrent Postgres clients', '8')
    .option('--drain <n>', 'backlog size for the relay\'s max rate', '100000')
    .option('--baseline <n>', 'messages for the raw JetStream baseline', '100000')
    .option('--payload-bytes <n>', 'payload size', '200')
    .option('--in-flight <n>', 'publishes in flight (relay and baselines)', '1024')
    .option('--out <file>', 'write the JSON report here', 'bench-results/transport.json')
    .option('--keep', 'keep the work directory')
    .action(async (o: Record<string, string | boolean>) => {
      await runTransportBench({
        rates: intList(String(o.rates)),
        seconds: Number(o.seconds),
        perTxn: Number(o.perTxn),
        clients: Number(o.clients),
        drainMessages: Number(o.drain),
        baselineMessages: Number(o.baseline),
        payloadBytes: Number(o.payloadBytes),
        inFlightMax: Number(o.inFlight),
        out: o.out ? String(o.out) : undefined,
        keep: Boolean(o.keep),
      });
    });
}
