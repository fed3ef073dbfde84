// The simulator's command line.
//   npm run sim -- --seed 42 --steps 2000 --verbose     replay one seed with a trace
//   npm run sim -- --seeds 100000 [--from 1]             long mode, on every core
// Every failure prints the one command that replays it; the exit code is non-zero.
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { runSeed, type BatchOptions, type SeedResult } from './batch.ts';
import { SimViolation } from './invariants.ts';
import { FAULT_PROFILE_NAMES, SIM_BUGS, type FaultProfileName, type SimBug } from './options.ts';
import { runSimulation } from './simulator.ts';
import { formatStats } from './stats.ts';
import { StatsSummary } from './summary.ts';
import type { WorkerReply, WorkerRequest } from './worker.ts';

const USAGE = `usage:
  npm run sim -- --seed <n> [--steps <m>] [--verbose]       run (replay) one seed
  npm run sim -- --seeds <N> [--from <n>] [--steps <m>]     run seeds from..from+N-1 on every core
options:
  --steps <m>              fault-phase steps per seed (default 2000)
  --nodes 3|5              initial voters (default: chosen by the seed)
  --profile <name>         fault profile: ${FAULT_PROFILE_NAMES.join(', ')} (default: default)
  --bug <name>             inject a deliberate bug: ${SIM_BUGS.join(', ')}
  --workers <k>            worker threads in long mode (default: available cores)
  --progress <k>           print progress every k seeds (default 500)
  --keep-going             do not stop at the first failing seed
  --stats                  print each seed's statistics (single seed: always)
  --no-ack-durability      do not check directly that acks are durable
  --no-linearizability     do not check the client history
  --lease-reads            let some runs (with check-quorum) use lease-based reads
  --storage-writes <mode>  sync, async (pipelined Readies, as the runtime) or mixed (default: async for odd seeds)
  --verbose                print a trace of every event (single seed)`;

const SEEDS_PER_TASK = 10;
/** Worker threads do not inherit the TypeScript loader: register it, then load the worker module. */
const WORKER_BOOTSTRAP = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(new URL('./worker.ts', import.meta.url).href)}); })`;

function parse(): { options: BatchOptions; seed?: number; seeds?: number; from: number; workers: number; progress: number; keepGoing: boolean; verbose: boolean; stats: boolean } {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      seeds: { type: 'string' },
      from: { type: 'string' },
      steps: { type: 'string' },
      nodes: { type: 'string' },
      profile: { type: 'string' },
      bug: { type: 'string' },
      workers: { type: 'string' },
      progress: { type: 'string' },
      'keep-going': { type: 'boolean' },
      stats: { type: 'boolean' },
      'no-ack-durability': { type: 'boolean' },
      'no-linearizability': { type: 'boolean' },
      'lease-reads': { type: 'boolean' },
      'storage-writes': { type: 'string' },
      verbose: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const int = (name: string, v: string | undefined, min: number): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min) throw new Error(`--${name} ${v}: expected an integer >= ${min}`);
    return n;
  };
  const nodes = int('nodes', values.nodes, 3);
  if (nodes !== undefined && nodes !== 3 && nodes !== 5) throw new Error(`--nodes ${nodes}: expected 3 or 5`);
  if (values.profile !== undefined && !(FAULT_PROFILE_NAMES as readonly string[]).includes(values.profile)) {
    throw new Error(`--profile ${values.profile}: expected one of ${FAULT_PROFILE_NAMES.join(', ')}`);
  }
  if (values.bug !== undefined && !(SIM_BUGS as readonly string[]).includes(values.bug)) {
    throw new Error(`--bug ${values.bug}: expected one of ${SIM_BUGS.join(', ')}`);
  }
  const storageWrites = values['storage-writes'] ?? 'mixed';
  if (storageWrites !== 'sync' && storageWrites !== 'async' && storageWrites !== 'mixed') {
    throw new Error(`--storage-writes ${storageWrites}: expected sync, async or mixed`);
  }
  const seed = int('seed', values.seed, 0);
  const seeds = int('seeds', values.seeds, 1);
  if ((seed === undefined) === (seeds === undefined)) throw new Error('give exactly one of --seed and --seeds');
  const options: BatchOptions = {
    steps: int('steps', values.steps, 1) ?? 2000,
    nodes: nodes as 3 | 5 | undefined,
    faultProfile: (values.profile as FaultProfileName | undefined) ?? 'default',
    bug: values.bug as SimBug | undefined,
    checkAckDurability: !values['no-ack-durability'],
    checkLinearizability: !values['no-linearizability'],
    leaseReads: values['lease-reads'] ?? false,
    storageWrites,
  };
  return {
    options,
    seed,
    seeds,
    from: int('from', values.from, 0) ?? 1,
    workers: int('workers', values.workers, 1) ?? availableParallelism(),
    progress: int('progress', values.progress, 1) ?? 500,
    keepGoing: values['keep-going'] ?? false,
    verbose: values.verbose ?? false,
    stats: values.stats ?? false,
  };
}

function runOne(seed: number, options: BatchOptions, verbose: boolean): number {
  try {
    const stats = runSimulation({ ...options, seed }, verbose ? { trace: (line) => console.log(line) } : {});
    console.log(formatStats(stats));
    return 0;
  } catch (e) {
    if (!(e instanceof SimViolation)) throw e;
    console.log(e.message);
    return 1;
  }
}

function reportFailure(r: Extract<SeedResult, { ok: false }>): void {
  console.log(`\nFAIL seed ${r.seed}: ${r.invariant}`);
  console.log(r.message.split('\nreplay: ')[0]);
  console.log(`replay: ${r.replay}`);
}

async function runMany(a: ReturnType<typeof parse>): Promise<number> {
  const total = a.seeds!;
  const startMs = performance.now();
  const summary = new StatsSummary();
  const failures: Extract<SeedResult, { ok: false }>[] = [];
  let nextSeed = a.from;
  const end = a.from + total;
  let done = 0;
  let stopping = false;
  const workerCount = Math.max(1, Math.min(a.workers, Math.ceil(total / SEEDS_PER_TASK)));
  console.log(`simulating seeds ${a.from}..${end - 1} (${a.options.steps} steps each) on ${workerCount} worker${workerCount === 1 ? '' : 's'}`);

  const onResult = (r: SeedResult): void => {
    done++;
    if (r.ok) {
      summary.add(r.stats);
      if (a.stats) console.log(formatStats(r.stats));
    } else {
      failures.push(r);
      reportFailure(r);
      if (!a.keepGoing) stopping = true;
    }
    if (done % a.progress === 0 || done === total) {
      const seconds = (performance.now() - startMs) / 1000;
      console.log(`[${done}/${total}] ${(done / seconds).toFixed(1)} seeds/s, ${failures.length} failing`);
    }
  };

  await Promise.all(
    Array.from({ length: workerCount }, () => {
      const worker = new Worker(WORKER_BOOTSTRAP, { eval: true, workerData: a.options });
      return new Promise<void>((resolve, reject) => {
        const feed = (): void => {
          if (stopping || nextSeed >= end) {
            worker.postMessage({ type: 'exit' } satisfies WorkerRequest);
            return;
          }
          const seeds: number[] = [];
          for (; seeds.length < SEEDS_PER_TASK && nextSeed < end; nextSeed++) seeds.push(nextSeed);
          worker.postMessage({ type: 'run', seeds } satisfies WorkerRequest);
        };
        worker.on('message', (msg: WorkerReply) => {
          if (msg.type === 'result') onResult(msg.result);
          else feed();
        });
        worker.on('error', reject);
        worker.on('exit', () => resolve());
        feed();
      });
    }),
  );

  const seconds = (performance.now() - startMs) / 1000;
  console.log(`\n${done} seeds in ${seconds.toFixed(1)}s (${(done / seconds).toFixed(1)} seeds/s), ${failures.length} failing`);
  console.log(summary.format());
  const never = summary.neverExercised();
  if (never.length > 0) console.log(`never exercised: ${never.join(', ')}`);
  if (failures.length > 0) {
    console.log('\nreplay the failing seeds with:');
    for (const f of failures.sort((x, y) => x.seed - y.seed)) console.log(`  ${f.replay}`);
    return 1;
  }
  return 0;
}

async function main(): Promise<void> {
  let a: ReturnType<typeof parse>;
  try {
    a = parse();
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (a.seed !== undefined) {
    process.exitCode = runOne(a.seed, a.options, a.verbose);
    return;
  }
  // A one-seed batch in this thread needs no workers (and shows the same output).
  if (a.workers === 1 && a.seeds! <= SEEDS_PER_TASK) {
    for (let s = a.from; s < a.from + a.seeds!; s++) {
      const r = runSeed(s, a.options);
      if (!r.ok) {
        reportFailure(r);
        process.exitCode = 1;
        if (!a.keepGoing) return;
      } else if (a.stats) console.log(formatStats(r.stats));
    }
    return;
  }
  process.exitCode = await runMany(a);
}

await main();
