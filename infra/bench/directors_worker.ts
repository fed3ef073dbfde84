// One measurement of `nimmer bench directors`, in its own process (so RSS is this measurement's):
//   memory      N routines started and left waiting for composition: RSS and heap per routine
//   throughput  M routines spawned, composed at once and pruned, at most C live: spawn-and-prune/s
// The baseline variants run the same shape with bare promises (what any async design costs at least).
import { defaultCatalogue } from '../../catalogue/index.ts';
import { DirectorSupervisor, MemoryRegisterStore, type CommittedEvent, type ShardGateway } from '../../directors/index.ts';

type Mode = 'memory' | 'memory-baseline' | 'throughput' | 'throughput-baseline';
const [mode, nArg, cArg] = process.argv.slice(2) as [Mode, string, string | undefined];
const n = Number(nArg);
const concurrency = Number(cArg ?? 10_000);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const catalogue = defaultCatalogue();
const templates = catalogue.templates.map((t) => t.id);
const shards = ['s-north', 's-south', 's-east', 's-west'];

const event = (i: number): CommittedEvent => ({
  uid: `ev-${i.toString(36).padStart(16, '0')}`,
  shard: shards[i % shards.length]!,
  template: templates[i % templates.length]!,
  district: 'square',
  participants: [`p${i}`, `q${i}`],
  catalogueVersion: catalogue.version,
});

const gateway: ShardGateway = { applyOutcome: async () => 'applied', closeEvent: async () => 'applied' };
const tick = () => new Promise((r) => setImmediate(r));
const rss = () => process.memoryUsage().rss;
const heap = () => process.memoryUsage().heapUsed;

async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc();
    await tick();
  }
}

function supervisor(store: MemoryRegisterStore): DirectorSupervisor {
  // The composed poll is the safety net; the benchmark wakes routines by notification.
  return new DirectorSupervisor({ store, gateway, catalogue: () => catalogue, config: { composedPollMs: 60_000, routinesMax: 1_000_000 } });
}

async function memory(): Promise<object> {
  await settle();
  const rss0 = rss();
  const heap0 = heap();
  // The register lives in Postgres, not in the director's process: keep no unfoldings in memory.
  const store = new MemoryRegisterStore(false);
  const sup = supervisor(store);
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    sup.start(event(i), 1);
    if (i % 5_000 === 4_999) await tick();
  }
  while (sup.stats().waiting < n) await tick();
  const spawnMs = performance.now() - started;
  await settle();
  const rss1 = rss();
  const heap1 = heap();
  const live = sup.stats().live;
  // Now end them all: composition lands for every event.
  const endStarted = performance.now();
  for (const uid of store.rows.keys()) {
    store.compose(uid);
    sup.notifyComposed(uid);
  }
  while (sup.liveCount > 0) await tick();
  const endMs = performance.now() - endStarted;
  await settle();
  return { routines: n, live, rssBytes: rss1, rssDeltaBytes: rss1 - rss0, heapDeltaBytes: heap1 - heap0, bytesPerRoutine: Math.round((heap1 - heap0) / n), spawnMs, endMs, rowsLeft: store.rows.size, rssAfterPruneBytes: rss(), heapAfterPruneDeltaBytes: heap() - heap0 };
}

async function memoryBaseline(): Promise<object> {
  await settle();
  const rss0 = rss();
  const heap0 = heap();
  const waiters = new Map<string, () => void>();
  const done: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const e = event(i);
    done.push((async () => {
      await new Promise<void>((resolve) => waiters.set(e.uid, resolve));
    })());
  }
  await settle();
  const out = { routines: n, rssBytes: rss(), rssDeltaBytes: rss() - rss0, heapDeltaBytes: heap() - heap0, bytesPerRoutine: Math.round((heap() - heap0) / n) };
  for (const w of waiters.values()) w();
  await Promise.all(done);
  return out;
}

async function throughput(): Promise<object> {
  const store = new MemoryRegisterStore(false);
  const sup = supervisor(store);
  // The stand-in compositor composes each event on the next turn of the loop.
  store.onWaiting = (uid) =>
    setImmediate(() => {
      store.compose(uid);
      sup.notifyComposed(uid);
    });
  let ended = 0;
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    while (sup.liveCount >= concurrency) await tick();
    sup.start(event(i), 1);
  }
  while (sup.liveCount > 0) await tick();
  ended = sup.stats().ended;
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  // Per CPU-second too: on a machine shared with other jobs the wall-clock rate says more about the neighbours.
  return { routines: n, concurrency, ended, ms, perSec: Math.round((n / ms) * 1000), cpuMs, perCpuSec: Math.round((n / cpuMs) * 1000), rowsLeft: store.rows.size, rssBytes: rss() };
}

async function throughputBaseline(): Promise<object> {
  // The same number of awaits per routine (open, composed, audits, outcome, apply, prune, close), no logic.
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  let live = 0;
  const step = () => Promise.resolve();
  for (let i = 0; i < n; i++) {
    while (live >= concurrency) await tick();
    live++;
    void (async () => {
      await step();
      await new Promise((r) => setImmediate(r));
      for (let k = 0; k < 5; k++) await step();
      live--;
    })();
  }
  while (live > 0) await tick();
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  return { routines: n, concurrency, ms, perSec: Math.round((n / ms) * 1000), cpuMs, perCpuSec: Math.round((n / cpuMs) * 1000) };
}

const run = { memory, 'memory-baseline': memoryBaseline, throughput, 'throughput-baseline': throughputBaseline }[mode];
if (run === undefined) {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
const result = await run();
process.send?.({ result });
process.exit(0);
