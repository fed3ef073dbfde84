// `nimmer bench …`: benchmarks, run on demand, never part of the test suite.
import type { Command } from 'commander';
import { runClusterBench } from './cluster.ts';
import { runCrdtBench } from './crdt.ts';
import { runProxyBench } from './proxy.ts';
import { runCompositorBench } from './compositor.ts';
import { runE2eBench, runSoakBench } from './pipeline_e2e.ts';
import { runDirectorsBench } from './directors.ts';
import { runPlayerBench } from './player.ts';
import { runPlayerFleetBench } from './player_fleet.ts';
import { runRaftBench } from './raft.ts';
import { runTransferBench } from './transfers.ts';
import { runTransportBench } from './transport.ts';
import { runTransportEval } from './transport_eval/run.ts';

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
    .option('--wal-preallocate-bytes <n>', "zeros the WAL keeps ahead of its write position (default: the runtime's)")
    .option('--profile', 'afterwards, profile every process (V8 sampling profiler) during one more level at the highest proposer count')
    .action(async (o: Record<string, string | boolean>) => {
      await runRaftBench({
        profile: Boolean(o.profile),
        walPreallocateBytes: o.walPreallocateBytes === undefined ? undefined : Number(o.walPreallocateBytes),
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
    .option('--prewarm-seconds <n>', 'unmeasured writes and reads on each system before the first level (JIT warm-up)', '6')
    .option('--clients <list>', 'concurrent closed-loop clients per level', '1,64,256')
    .option('--rounds <n>', 'back-to-back pairs per level; the verdict takes the median ratios (one 10-s pair at 64 clients varies by ±30 %)', '1')
    .option('--value-bytes <n>', 'etcd value size (nimmer values are integers 0..100)', '8')
    .option('--shards <n>', 'nimmer shards for the load (registers = shards × catalogue axes; etcd gets as many keys)', '4')
    .option('--rss-shards <list>', 'shard counts for the idle RSS figure (fresh cluster each)', '4,64')
    .option('--tick-ms <n>', 'nimmer raft tick', '50')
    .option('--snapshot-every-entries <n>', "nimmer's Raft snapshot interval (default: the node's)")
    .option('--profile', 'afterwards, profile the nimmer node processes (--cpu-prof) under the highest load and list the hot spots')
    .option('--out <file>', 'write the JSON report here', 'bench-results/cluster.json')
    .option('--md <file>', 'write the Markdown summary here', 'bench-results/cluster.md')
    .option('--keep', 'keep the work directory (etcd data and logs, profiles)')
    .action(async (o: Record<string, string | boolean>) => {
      await runClusterBench({
        seconds: Number(o.seconds),
        warmupSeconds: Number(o.warmupSeconds),
        prewarmSeconds: Number(o.prewarmSeconds),
        clients: intList(String(o.clients)),
        rounds: Number(o.rounds),
        valueBytes: Number(o.valueBytes),
        shards: Number(o.shards),
        rssShards: intList(String(o.rssShards)),
        tickMs: Number(o.tickMs),
        ...(o.snapshotEveryEntries !== undefined ? { snapshotEveryEntries: Number(o.snapshotEveryEntries) } : {}),
        profile: Boolean(o.profile),
        out: o.out ? String(o.out) : undefined,
        md: o.md ? String(o.md) : undefined,
        keep: Boolean(o.keep),
      });
    });
  bench
    .command('crdt')
    .description('eventual state: hot-counter increments/s (Automerge Counter baseline, unbatched, batched) and document size over time, in process and 3 replicas over NATS')
    .option('--seconds <n>', 'seconds per variant', '5')
    .option('--flush-ms <n>', 'batch flush interval', '50')
    .option('--compact-bytes <n>', 'compaction threshold', String(256 * 1024))
    .option('--nats-compact-bytes <n>', 'compaction threshold of the 3-replica runs', String(16 * 1024))
    .option('--out <file>', 'write the JSON report here', 'bench-results/crdt.json')
    .action(async (o: Record<string, string>) => {
      await runCrdtBench({ seconds: Number(o.seconds), flushMs: Number(o.flushMs), compactBytes: Number(o.compactBytes), natsCompactBytes: Number(o.natsCompactBytes), out: o.out });
    });
  bench
    .command('proxy')
    .description('what an idle fault proxy adds: ping-pong round trips and bulk echo, direct vs through a LinkProxy (separate processes)')
    .option('--round-trips <n>', 'measured round trips per path', '20000')
    .option('--rounds <n>', 'alternating rounds (direct, proxied, direct, …)', '10')
    .option('--message-bytes <n>', 'bytes per ping', '64')
    .option('--bulk-mb <n>', 'MB for the bulk echo', '64')
    .option('--out <file>', 'write the JSON report here', 'bench-results/proxy.json')
    .action(async (o: Record<string, string>) => {
      await runProxyBench({
        roundTrips: Number(o.roundTrips),
        rounds: Number(o.rounds),
        messageBytes: Number(o.messageBytes),
        bulkBytes: Number(o.bulkMb) * 1_000_000,
        out: o.out,
      });
    });
  bench
    .command('directors')
    .description('director routines in one process: RSS of N concurrent routines, spawn-and-prune per second (in-memory register)')
    .option('--routines <n>', 'concurrent routines for the memory figure', '100000')
    .option('--cycles <n>', 'routines spawned and pruned for the throughput figure', '200000')
    .option('--concurrency <n>', 'live routines at most during the throughput run', '10000')
    .option('--out <file>', 'write the JSON report here', 'bench-results/directors.json')
    .action(async (o: Record<string, string>) => {
      await runDirectorsBench({ routines: Number(o.routines), cycles: Number(o.cycles), concurrency: Number(o.concurrency), out: o.out ? String(o.out) : undefined });
    });
  bench
    .command('compositor')
    .description('directors → register → compositor processes → canon on a real Postgres: events/s and latency per worker count')
    .option('--events <n>', 'events per run', '400')
    .option('--workers <list>', 'compositor processes per run', '1,4')
    .option('--slot-delay-ms <n>', 'simulated model latency per slot (built-in model)', '0')
    .option('--out <file>', 'write the JSON report here', 'bench-results/compositor.json')
    .action(async (o: Record<string, string>) => {
      await runCompositorBench({ events: Number(o.events), workers: intList(String(o.workers)), slotDelayMs: Number(o.slotDelayMs), out: o.out ? String(o.out) : undefined });
    });
  bench
    .command('e2e')
    .description('the pipeline in a real nimmer up cluster: POST /events at a constant rate → Raft → director → compositor → canon → relay → JetStream → a real player fleet (SQLite apply, self-acknowledged delivery) → outcome; POST → delivered p50/p99 and events/s per compositor count')
    .option('--compositors <list>', 'compositor processes, one cluster run each', '1,4')
    .option('--rate <n>', 'events posted per second', '10')
    .option('--seconds <n>', 'seconds of posting per run', '30')
    .option('--participants <n>', 'participants per event', '3')
    .option('--delivery-timeout-ms <n>', 'director delivery deadline', '10000')
    .option('--players <n>', 'real players in the fleet', '200')
    .option('--player-workers <n>', 'worker processes hosting the players', '4')
    .option('--districts <n>', 'districts the players live in (each event picks its participants in its district); 0: players subscribe per event entered, as the pipeline check does', '20')
    .option('--stand-in', 'baseline: a stand-in fleet reading canon from Postgres acknowledges instead of real players')
    .option('--out <file>', 'write the JSON report here', 'bench-results/e2e.json')
    .option('--keep', 'keep the data directories')
    .action(async (o: Record<string, string | boolean>) => {
      await runE2eBench({
        compositors: intList(String(o.compositors)),
        rate: Number(o.rate),
        seconds: Number(o.seconds),
        participants: Number(o.participants),
        deliveryTimeoutMs: Number(o.deliveryTimeoutMs),
        players: Number(o.players),
        playerWorkers: Number(o.playerWorkers),
        districts: Number(o.districts),
        standIn: Boolean(o.standIn),
        out: o.out ? String(o.out) : undefined,
        keep: Boolean(o.keep),
      });
    });
  bench
    .command('soak')
    .description('constant load for --minutes (full mode: 10) in a real nimmer up cluster with every retention window scaled to the run (stream max_age, relay journal, player TTLs, Raft snapshots, CRDT compaction); samples every layer (directors, register, flags, acks, journals, canon, participation, Raft log and dirs, JetStream, CRDT doc, real players\' SQLite by retention class, Postgres, node RSS) and reports each slope after warm-up with a verdict')
    .option('--minutes <n>', 'minutes of constant load (10 for the full soak; 1 to try it)', '10')
    .option('--smoke', 'a short try: 1 minute, samples every 2 s, journal window 10 s')
    .option('--rate <n>', 'events posted per second', '5')
    .option('--compositors <n>', 'compositor processes', '1')
    .option('--sample-ms <n>', 'sampling interval', '5000')
    .option('--warmup <share>', 'share of the run ignored as warm-up', '0.3')
    .option('--journal-window-ms <n>', 'how long ended events (journal and canon rows) are kept; the streams\' max_age and the players\' TTLs scale with it', '60000')
    .option('--out <file>', 'write the JSON report here', 'bench-results/soak.json')
    .option('--keep', 'keep the data directory')
    .action(async (o: Record<string, string | boolean>) => {
      const smoke = Boolean(o.smoke);
      await runSoakBench({
        minutes: smoke ? 1 : Number(o.minutes),
        rate: Number(o.rate),
        compositors: Number(o.compositors),
        sampleMs: smoke ? 2_000 : Number(o.sampleMs),
        warmupShare: Number(o.warmup),
        journalWindowMs: smoke ? 10_000 : Number(o.journalWindowMs),
        out: o.out ? String(o.out) : undefined,
        keep: Boolean(o.keep),
      });
    });
  bench
    .command('player')
    .description('replay of N canon messages from JetStream into the SQLite of M player clients (checkpoint replay, ordered consumers), against SQLite-only and consumer-only baselines')
    .option('--messages <n>', 'canon messages in the stream', '100000')
    .option('--players <list>', 'player counts, one level each', '1,10')
    .option('--batch <n>', 'messages per SQLite transaction at most', '2000')
    .option('--linger-ms <n>', 'how long a batch waits to fill before it commits', '5')
    .option('--body-bytes <n>', 'canon body size', '120')
    .option('--out <file>', 'write the JSON report here', 'bench-results/player.json')
    .option('--keep', 'keep the work directory')
    .option('--cpu-prof-dir <dir>', 'write a CPU profile of the 1-player replay here and print its hot spots')
    .option('--modes <list>', 'where clients read the events path: main (one thread), worker (NATS + parsing in a worker thread, the SQLite apply on the main thread)', 'main,worker')
    .option('--fleet', 'instead: commit → applied latency with a fleet of players (Postgres → relay → JetStream → each player\'s SQLite)')
    .option('--fleet-players <n>', 'players in the fleet', '1000')
    .option('--fleet-workers <n>', 'worker processes hosting them', '4')
    .option('--fleet-event-players <n>', 'players per event (each canon row names all of its event\'s players)', '10')
    .option('--fleet-rates <list>', 'canon rows committed per second, one level each', '50,200')
    .option('--fleet-seconds <n>', 'seconds per level', '20')
    .option('--fleet-rows-per-txn <n>', 'canon rows per Postgres transaction', '1')
    .option('--fleet-committers <n>', 'Postgres connections committing in parallel', '4')
    .action(async (o: Record<string, string | boolean>) => {
      if (o.fleet) {
        await runPlayerFleetBench({
          players: Number(o.fleetPlayers),
          workers: Number(o.fleetWorkers),
          playersPerEvent: Number(o.fleetEventPlayers),
          rates: intList(String(o.fleetRates)),
          seconds: Number(o.fleetSeconds),
          rowsPerTxn: Number(o.fleetRowsPerTxn),
          committers: Number(o.fleetCommitters),
          applyLingerMs: Number(o.lingerMs),
          out: o.out === 'bench-results/player.json' ? 'bench-results/player-fleet.json' : o.out ? String(o.out) : undefined,
          keep: Boolean(o.keep),
        });
        return;
      }
      await runPlayerBench({
        messages: Number(o.messages),
        players: intList(String(o.players)),
        applyBatchMax: Number(o.batch),
        applyLingerMs: Number(o.lingerMs),
        bodyBytes: Number(o.bodyBytes),
        out: o.out ? String(o.out) : undefined,
        keep: Boolean(o.keep),
        cpuProfDir: typeof o.cpuProfDir === 'string' ? o.cpuProfDir : undefined,
        modes: String(o.modes).split(',').map((x) => {
          if (x !== 'main' && x !== 'worker') throw new Error(`--modes: '${x}' is neither main nor worker`);
          return x;
        }),
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
    .option('--trace-gc', 'run the latency relays with node --trace-gc (GC pauses in their logs; implies --keep)')
    .option('--journal-retention-ms <n>', 'the latency relays\' journal retention (0: prune every 5 s round, as in steady state)')
    .option('--nats-store-dir <dir>', 'put nats-server\'s JetStream store here (e.g. another file system than Postgres\')')
    .action(async (o: Record<string, string | boolean>) => {
      await runTransportBench({
        ...(o.natsStoreDir !== undefined ? { natsStoreDir: String(o.natsStoreDir) } : {}),
        traceGc: Boolean(o.traceGc),
        ...(o.journalRetentionMs !== undefined ? { journalRetentionMs: Number(o.journalRetentionMs) } : {}),
        rates: intList(String(o.rates)),
        seconds: Number(o.seconds),
        perTxn: Number(o.perTxn),
        clients: Number(o.clients),
        drainMessages: Number(o.drain),
        baselineMessages: Number(o.baseline),
        payloadBytes: Number(o.payloadBytes),
        inFlightMax: Number(o.inFlight),
        out: o.out ? String(o.out) : undefined,
        keep: Boolean(o.keep) || Boolean(o.traceGc),
      });
    });
  bench
    .command('transport-eval')
    .description('the transport evaluation (issue 5): 7 sections measured on this machine, written as a Markdown report with SVG plots')
    .requiredOption('--report <dir>', 'write transport-evaluation.md, its SVG plots and the raw JSON here (e.g. docs)')
    .option('--sections <list>', '1 expressiveness, 2 replay, 3 durability, 4 schema evolution, 5 cost at scale, 6 A vs B, 7 relay targets, 8 player fleet', '1,2,3,4,5,6,7,8')
    .option('--replay-hours <n>', 'hours of canon to replay (at --replay-rate)', '0.25')
    .option('--replay-rate <n>', 'canon messages per second the hours are counted at', '50')
    .option('--durability-rate <n>', 'publishes/s during the leader kill', '1000')
    .option('--durability-seconds <n>', 'seconds of load around the leader kill', '10')
    .option('--evolution-players <n>', 'players running while the feed is added', '20')
    .option('--evolution-messages <n>', 'canon rows committed meanwhile', '3000')
    .option('--evolution-rate <n>', 'canon rows/s', '300')
    .option('--scale-levels <list>', 'consumer counts (add 10000 for the full level: minutes here)', '1000,5000')
    .option('--players <n>', 'players in the A vs B comparison', '20')
    .option('--ab-rate <n>', 'canon rows/s in the A vs B latency run', '200')
    .option('--ab-seconds <n>', 'seconds of the A vs B latency run', '10')
    .option('--ab-burst <n>', 'rows in the A vs B throughput burst', '2000')
    .option('--rates <list>', 'paced publishes/s for the relay latency targets', '5000,1000')
    .option('--fleet-players <n>', 'players in the fleet (section 8)', '1000')
    .option('--fleet-workers <n>', 'worker processes hosting them', '4')
    .option('--fleet-event-players <n>', 'players per event', '10')
    .option('--fleet-rates <list>', 'canon rows/s, one level each', '50,100')
    .option('--fleet-seconds <n>', 'seconds per level', '15')
    .option('--seconds <n>', 'seconds per paced rate (relay targets)', '4')
    .option('--drain <n>', 'backlog for the relay max rate', '30000')
    .option('--baseline <n>', 'messages for the raw JetStream baseline', '20000')
    .option('--keep', 'keep the work directory')
    .action(async (o: Record<string, string | boolean>) => {
      const n = (k: string) => Number(o[k]);
      await runTransportEval({
        reportDir: String(o.report),
        sections: intList(String(o.sections)),
        replay: { hours: n('replayHours'), ratePerSec: n('replayRate') },
        durability: { ratePerSec: n('durabilityRate'), seconds: n('durabilitySeconds') },
        evolution: { players: n('evolutionPlayers'), messages: n('evolutionMessages'), ratePerSec: n('evolutionRate') },
        scaleLevels: intList(String(o.scaleLevels)),
        options: { players: n('players'), ratePerSec: n('abRate'), seconds: n('abSeconds'), burst: n('abBurst') },
        targets: { rates: intList(String(o.rates)), seconds: n('seconds'), drain: n('drain'), baseline: n('baseline') },
        fleet: { players: n('fleetPlayers'), workers: n('fleetWorkers'), playersPerEvent: n('fleetEventPlayers'), rates: intList(String(o.fleetRates)), seconds: n('fleetSeconds') },
        keep: Boolean(o.keep),
      });
    });
  bench
    .command('transfers')
    .description('cross-shard transfers vs one-shard transfers vs single axis writes, 3 node processes, closed-loop HTTP clients')
    .option('--seconds <n>', 'seconds per level', '10')
    .option('--clients <list>', 'concurrent clients per level', '1,16')
    .option('--tick-ms <n>', 'raft tick', '50')
    .option('--out <file>', 'write the JSON report here', 'bench-results/transfers.json')
    .action(async (o: Record<string, string>) => {
      await runTransferBench({ seconds: Number(o.seconds), clients: intList(o.clients!), tickMs: Number(o.tickMs), out: o.out });
    });
}
