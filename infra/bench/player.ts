// `nimmer bench player`: replay of N canon messages from JetStream into the SQLite of M players, each
// from its own checkpoint (ordered consumers, nothing kept on the server). Baselines measured in the
// same run: the same N messages applied straight into SQLite (no network: the apply ceiling), and an
// ordered consumer draining them with no SQLite (the network ceiling); plus the disk's fsync rate.
// The cost of checkpoint replay against per-player durable consumers is for the transport evaluation.
//   node bin/nimmer.js bench player --messages 100000 --players 1,10
import { jetstream, jetstreamManager, DeliverPolicy } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { canonSubject, EVENTS_STREAM, EVENTS_SUBJECTS, LocalStore, OrderedStream, PlayerClient, type CanonMessage, type StreamDelivery } from '../../transport/index.ts';
import { startNats, Supervisor } from '../launcher/index.ts';
import { summariseProfiles } from './cpu_profile.ts';
import { measureFsyncPerSec } from './fsync_baseline.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface PlayerBenchOptions {
  messages: number;
  players: number[];
  applyBatchMax: number;
  applyLingerMs: number;
  bodyBytes: number;
  out?: string;
  keep?: boolean;
  /** Write a V8 CPU profile of each 1-player replay (the measured window, main thread only) here and summarise it. */
  cpuProfDir?: string;
  /** Where the clients read the events path: `main` (one thread), `worker` (config eventsWorker: NATS and parsing
   *  in a worker thread, the SQLite apply on the main thread). Each mode runs every player level. Default: main. */
  modes?: ReplayMode[];
}

export type ReplayMode = 'main' | 'worker';

interface Level {
  mode: ReplayMode;
  players: number;
  wallMs: number;
  msgsPerSecPerClient: number;
  msgsPerSecAggregate: number;
  cpuMs: number;
  /** Bench-process (client) CPU per message replayed, µs: all threads… */
  clientCpuUsPerMsg: number;
  /** …of which the main thread (the SQLite apply; with mode main everything). */
  mainThreadCpuUsPerMsg: number;
  /** …and the events worker threads (mode worker: NATS and parsing). */
  workerThreadCpuUsPerMsg: number | null;
  /** nats-server CPU per message delivered (to all clients), µs. */
  serverCpuUsPerMsg: number;
  /** Share of the wall time the client's event loop was busy (1: CPU-bound on the main thread). */
  eventLoopUtilization: number;
  meanBatch: number;
}

const EVENT = 'ev-bench';
const PUBLISH_IN_FLIGHT = 1_000;

export async function runPlayerBench(options: PlayerBenchOptions) {
  const o = { ...options, modes: options.modes ?? (['main'] as ReplayMode[]) };
  const playersMax = Math.max(...o.players);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nimmer-bench-player-'));
  const supervisor = new Supervisor({ logDir: path.join(dir, 'logs'), handleSignals: true });
  console.log(`player replay bench: ${o.messages} messages, players ${o.players.join(',')}, batch ${o.applyBatchMax}, body ${o.bodyBytes} B; dir ${dir}`);
  console.log('note: the machine is shared with other sessions; numbers vary run to run.');
  try {
    const fsync = await measureFsyncPerSec(dir, 1000);
    const nats = await startNats({ dataDir: dir, mode: 'local', supervisor });
    const nc = await connect({ servers: nats.urls });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: EVENTS_STREAM, subjects: [EVENTS_SUBJECTS] });
    const ids = Array.from({ length: playersMax }, (_, i) => `b${i}`);
    const messages = Array.from({ length: o.messages }, (_, i) => message(i + 1, ids, o.bodyBytes));
    const encoded = messages.map((m) => new TextEncoder().encode(JSON.stringify(m)));
    const js = jetstream(nc);
    const tPub = performance.now();
    for (let i = 0; i < encoded.length; i += PUBLISH_IN_FLIGHT) {
      await Promise.all(encoded.slice(i, i + PUBLISH_IN_FLIGHT).map((data, j) => js.publish(canonSubject(`${EVENT}.d1.s${(i + j) % 8}`), data, { msgID: `canon-${i + j + 1}` })));
    }
    const publishMs = performance.now() - tPub;
    console.log(`published ${o.messages} in ${publishMs.toFixed(0)} ms (${rate(o.messages, publishMs)} msg/s); payload ~${encoded[0]!.length} B`);

    // Baseline 1: SQLite only (same batches, no network), after a warm-up store (JIT, wasm) that is discarded.
    const deliveries: StreamDelivery[] = encoded.map((data, i) => ({ eventUid: EVENT, streamSeq: i + 1, data }));
    const warm = LocalStore.open(path.join(dir, 'warmup.sqlite'), ids[0]!);
    warm.addSubscription(EVENT, Date.now());
    for (let i = 0; i < Math.min(deliveries.length, 10_000); i += o.applyBatchMax) warm.applyStream(deliveries.slice(i, i + o.applyBatchMax), Date.now());
    warm.close();
    const store = LocalStore.open(path.join(dir, 'baseline.sqlite'), ids[0]!);
    store.addSubscription(EVENT, Date.now());
    const tApply = performance.now();
    const cpuApply0 = process.cpuUsage();
    for (let i = 0; i < deliveries.length; i += o.applyBatchMax) store.applyStream(deliveries.slice(i, i + o.applyBatchMax), Date.now());
    const applyMs = performance.now() - tApply;
    const cpuApply = process.cpuUsage(cpuApply0);
    const applyCpuMs = (cpuApply.user + cpuApply.system) / 1000;
    store.close();
    // Baseline 2: the client's ordered consumer alone (no SQLite), after a warm-up drain; and nats.js's
    // ordered consumer, which the client used before (kept as the reference the lean one is measured against).
    const serverPid = nats.servers[0]?.pid ?? null;
    const serverCpuMs = () => (serverPid === null ? Number.NaN : procCpuMs(serverPid));
    await drainOrdered(nats.urls, o.messages);
    const cpuDrain0 = process.cpuUsage();
    const serverDrain0 = serverCpuMs();
    const drainMs = await drainOrdered(nats.urls, o.messages);
    const drainCpu = process.cpuUsage(cpuDrain0);
    const drainCpuMs = (drainCpu.user + drainCpu.system) / 1000;
    const drainServerCpuMs = serverCpuMs() - serverDrain0;
    const cpuJs0 = process.cpuUsage();
    const tJs = performance.now();
    const consumer = await js.consumers.get(EVENTS_STREAM, { filter_subjects: `nimmerverse.events.${EVENT}.>`, deliver_policy: DeliverPolicy.All });
    let drained = 0;
    await new Promise<void>((resolve) => void consumer.consume({ max_messages: 4_096, callback: () => {
      if (++drained === o.messages) resolve();
    } }));
    const natsJsMs = performance.now() - tJs;
    const natsJsCpu = process.cpuUsage(cpuJs0);
    const natsJsCpuMs = (natsJsCpu.user + natsJsCpu.system) / 1000;
    await consumer.delete();
    // A warm-up replay (discarded): the first client in a process pays for compiling the apply path.
    {
      const w = PlayerClient.open({ playerId: ids[0]!, dbPath: path.join(dir, 'warmup-client.sqlite'), eventsServers: nats.urls, applyBatchMax: o.applyBatchMax, applyLingerMs: o.applyLingerMs });
      await w.join(EVENT);
      await w.connect();
      await new Promise<void>((resolve) => {
        const poll = () => (w.store.checkpointOf(EVENT) === o.messages ? resolve() : setTimeout(poll, 5));
        poll();
      });
      await w.close();
    }

    const levels: Level[] = [];
    for (const mode of o.modes) for (const m of o.players) {
      const levelDir = path.join(dir, `${mode}-players-${m}`);
      mkdirSync(levelDir);
      const eventsWorker = mode === 'worker';
      const clients = ids.slice(0, m).map((id) => PlayerClient.open({ playerId: id, dbPath: path.join(levelDir, `${id}.sqlite`), eventsServers: nats.urls, applyBatchMax: o.applyBatchMax, applyLingerMs: o.applyLingerMs, eventsWorker }));
      // Connected first (the events worker started, its connection open), so the window is the replay itself:
      // join() creates the consumer at the checkpoint (a new subscription: the start of the stream).
      const tConnect = performance.now();
      await Promise.all(clients.map((c) => c.connect()));
      const connectMs = performance.now() - tConnect;
      const profiler = m === 1 && o.cpuProfDir !== undefined ? await startProfiler() : null;
      const workers0 = await Promise.all(clients.map((c) => c.eventsWorkerStats()));
      const threads0 = threadCpuMs();
      const cpu0 = process.cpuUsage();
      const main0 = procCpuMs('thread-self');
      const server0 = serverCpuMs();
      const elu0 = performance.eventLoopUtilization();
      const t0 = performance.now();
      await Promise.all(clients.map((c) => c.join(EVENT)));
      await new Promise<void>((resolve) => {
        const poll = () => (clients.every((c) => c.store.checkpointOf(EVENT) === o.messages) ? resolve() : setTimeout(poll, 5));
        poll();
      });
      const wallMs = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const mainMs = procCpuMs('thread-self') - main0;
      const threads1 = threadCpuMs();
      const workers1 = await Promise.all(clients.map((c) => c.eventsWorkerStats()));
      const workerMs = workers1.reduce<number>((sum, w, i) => sum + (w?.cpuMs ?? 0) - (workers0[i]?.cpuMs ?? 0), 0);
      const backpressure = eventsWorker
        ? `; events workers: at most ${Math.max(...workers1.map((w) => w?.outstandingPeak ?? 0))} messages handed over and not yet applied, flow control held ${workers1.reduce((n, w) => n + (w?.flowControlHeld ?? 0), 0)}× (answered ${workers1.reduce((n, w) => n + (w?.flowControlAnswers ?? 0), 0)}×), consumers paused ${workers1.reduce((n, w) => n + (w?.pauses ?? 0), 0)}×`
        : '';
      const serverMs = serverCpuMs() - server0;
      const elu = performance.eventLoopUtilization(elu0).utilization;
      if (profiler !== null) await stopProfiler(profiler, o.cpuProfDir!);
      const batches = clients.reduce((n, c) => n + c.batchesCommitted, 0);
      for (const c of clients) {
        if (c.totals.stream.applied !== o.messages) throw new Error(`player ${c.config.playerId} applied ${c.totals.stream.applied}, expected ${o.messages}`);
        await c.close();
      }
      const cpuMs = (cpu.user + cpu.system) / 1000;
      const level: Level = {
        mode,
        players: m,
        wallMs,
        msgsPerSecPerClient: (o.messages / wallMs) * 1000,
        msgsPerSecAggregate: ((o.messages * m) / wallMs) * 1000,
        cpuMs,
        clientCpuUsPerMsg: (cpuMs * 1000) / (o.messages * m),
        mainThreadCpuUsPerMsg: (mainMs * 1000) / (o.messages * m),
        workerThreadCpuUsPerMsg: eventsWorker ? (workerMs * 1000) / (o.messages * m) : null,
        serverCpuUsPerMsg: (serverMs * 1000) / (o.messages * m),
        eventLoopUtilization: elu,
        meanBatch: (o.messages * m) / batches,
      };
      levels.push(level);
      // Where the process's CPU went, by OS thread (V8's helper threads do GC and compilation; Node 20 names
      // every thread 'node', so they are told apart by id; the main thread's id is the pid).
      const threadLine = [...threads1]
        .map(([tid, t]) => [tid === String(process.pid) ? 'main' : `tid ${tid}`, t.ms - (threads0.get(tid)?.ms ?? 0)] as const)
        .filter(([, ms]) => ms >= 0.02 * cpuMs)
        .sort((a, b) => b[1] - a[1])
        .map(([n, ms]) => `${n} ${((ms * 1000) / (o.messages * m)).toFixed(1)}`)
        .join(', ');
      console.log(
        `[${mode}] ${m} player(s): all caught up in ${wallMs.toFixed(0)} ms: ${level.msgsPerSecPerClient.toFixed(0)} msg/s per client (wall), ${level.msgsPerSecAggregate.toFixed(0)} msg/s aggregate; ` +
          `client (bench process, all threads) CPU ${cpuMs.toFixed(0)} ms = ${level.clientCpuUsPerMsg.toFixed(1)} µs per message (${(1e6 / level.clientCpuUsPerMsg).toFixed(0)} msg per client CPU-second), main thread ${level.mainThreadCpuUsPerMsg.toFixed(1)} µs (${(1e6 / level.mainThreadCpuUsPerMsg).toFixed(0)} msg per main-thread CPU-second)` +
          (level.workerThreadCpuUsPerMsg === null ? '; ' : `, events worker thread(s) ${level.workerThreadCpuUsPerMsg.toFixed(1)} µs (${(1e6 / level.workerThreadCpuUsPerMsg).toFixed(0)} msg per worker CPU-second); `) +
          `nats-server CPU ${level.serverCpuUsPerMsg.toFixed(1)} µs per message; main event loop busy ${(elu * 100).toFixed(0)}% of the wall time; mean batch ${level.meanBatch.toFixed(0)} messages per SQLite commit; connect before the replay ${connectMs.toFixed(0)} ms; load ${os.loadavg()[0]!.toFixed(1)}`,
      );
      console.log(`  CPU µs per message by thread (each ≥ 2% of the process's): ${threadLine}${backpressure}`);
    }
    const sqliteOnly = (o.messages / applyMs) * 1000;
    const consumerOnly = (o.messages / drainMs) * 1000;
    const one = levels.find((l) => l.players === 1 && l.mode === o.modes[0]) ?? levels[0]!;
    const perMsg = (cpuMs: number) => `${((cpuMs * 1000) / o.messages).toFixed(1)} µs CPU per message (${((o.messages / cpuMs) * 1000).toFixed(0)} msg per CPU-second)`;
    console.log(`SQLite apply alone: ${perMsg(applyCpuMs)}; the client's ordered consumer alone: ${perMsg(drainCpuMs)} (nats-server: ${((drainServerCpuMs * 1000) / o.messages).toFixed(1)} µs per message); nats.js's ordered consumer alone: ${perMsg(natsJsCpuMs)} (wall rates suffer when other sessions load the cores)`);
    console.log(`baselines (same run): SQLite apply alone ${sqliteOnly.toFixed(0)} msg/s; the client's ordered consumer alone ${consumerOnly.toFixed(0)} msg/s, nats.js's ${((o.messages / natsJsMs) * 1000).toFixed(0)} msg/s; disk fsync ${fsync.fsyncsPerSec.toFixed(0)}/s; load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
    console.log(`ratios: replay into SQLite (${one.players} player) / SQLite alone = ${(one.msgsPerSecPerClient / sqliteOnly).toFixed(2)}; / consumer alone = ${(one.msgsPerSecPerClient / consumerOnly).toFixed(2)}`);
    const report = {
      messages: o.messages,
      applyBatchMax: o.applyBatchMax,
      publishMsgsPerSec: (o.messages / publishMs) * 1000,
      sqliteOnlyMsgsPerSec: sqliteOnly,
      sqliteOnlyCpuMs: applyCpuMs,
      consumerOnlyMsgsPerSec: consumerOnly,
      consumerOnlyCpuMs: drainCpuMs,
      consumerOnlyServerCpuMs: drainServerCpuMs,
      natsJsConsumerMsgsPerSec: (o.messages / natsJsMs) * 1000,
      natsJsConsumerCpuMs: natsJsCpuMs,
      fsyncPerSec: fsync.fsyncsPerSec,
      load1m: os.loadavg()[0],
      levels,
    };
    if (o.out !== undefined) {
      mkdirSync(path.dirname(o.out), { recursive: true });
      writeFileSync(o.out, JSON.stringify(report, null, 2));
      console.log(`report: ${o.out}`);
    }
    await nc.close();
    return report;
  } finally {
    await supervisor.stopAll();
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
  }
}

function message(canonId: number, participants: string[], bodyBytes: number): CanonMessage {
  return { canonId, eventUid: EVENT, district: 'd1', scene: `s${(canonId - 1) % 8}`, slot: null, participants, retention: 'standard', body: { line: 'x'.repeat(bodyBytes) }, createdAt: new Date().toISOString() };
}

/** Drains the stream with the client's ordered consumer (OrderedStream) on a fresh connection; wall ms. */
async function drainOrdered(servers: string[], messages: number): Promise<number> {
  const nc = await connect({ servers });
  try {
    const t0 = performance.now();
    let drained = 0;
    let done!: () => void;
    const all = new Promise<void>((r) => (done = r));
    const s = await OrderedStream.start(nc, { stream: EVENTS_STREAM, filterSubject: `nimmerverse.events.${EVENT}.>`, afterSeq: 0, idleHeartbeatMs: 5_000, onMessage: () => {
      if (++drained === messages) done();
    } });
    await all;
    const ms = performance.now() - t0;
    await s.stop();
    return ms;
  } finally {
    await nc.close();
  }
}

function rate(n: number, ms: number): string {
  return ((n / ms) * 1000).toFixed(0);
}

/** User + system CPU of a process (or 'thread-self': the calling thread) so far, ms (from /proc; clock-tick resolution). */
function procCpuMs(pid: number | 'thread-self'): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS_PER_SEC;
}
/** CPU so far of each thread of this process (tid → name, ms). */
function threadCpuMs(): Map<string, { name: string; ms: number }> {
  const out = new Map<string, { name: string; ms: number }>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, { name, ms: ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS_PER_SEC });
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/** USER_HZ: 100 on Linux for every architecture we run on (getconf CLK_TCK). */
const CLOCK_TICKS_PER_SEC = 100;

async function startProfiler(): Promise<Session> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  return session;
}

/** Stops the profiler, writes the profile and prints where the replay's samples fell. */
async function stopProfiler(session: Session, dir: string): Promise<void> {
  const { profile } = await session.post('Profiler.stop');
  session.disconnect();
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `player-replay-${Date.now()}.cpuprofile`);
  writeFileSync(file, JSON.stringify(profile));
  const sum = await summariseProfiles([file], REPO_ROOT, 25);
  console.log(`CPU profile of the 1-player replay (main thread): ${file}; idle ${sum.idlePct.toFixed(0)}%, GC ${sum.gcPct.toFixed(1)}% of busy`);
  for (const a of sum.byArea) console.log(`  area ${a.selfPct.toFixed(1).padStart(5)}%  ${a.area}`);
  for (const h of sum.topSelf) console.log(`  self ${h.selfPct.toFixed(1).padStart(5)}%  incl ${h.inclusivePct.toFixed(1).padStart(5)}%  ${h.where}`);
}
