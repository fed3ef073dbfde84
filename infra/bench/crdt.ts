// `nimmer bench crdt`: hot-counter throughput and document size over time.
//  1. One document, one hot counter, in process: a plain Automerge Counter incremented by one change
//     per increment (the baseline that slows down as history grows), our replica unbatched (one
//     change per increment) and batched (one change per flush).
//  2. Three replicas over a real nats-server, every one incrementing the same counters as fast as
//     acknowledgements (fsync'd) come back, with and without compaction: document bytes over time.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as A from '@automerge/automerge';
import { NatsTransport, Replica, type CrdtSettingsInput } from '../../consensus/crdt/index.ts';
import { DetachedTransport } from '../../consensus/crdt/index.ts';
import { startNats, Supervisor } from '../launcher/index.ts';

export interface CrdtBenchOptions {
  seconds: number;
  flushMs: number;
  compactBytes: number;
  /** Threshold for the 3-replica runs: small, so a short run shows the size levelling off. */
  natsCompactBytes: number;
  out?: string;
}

interface Window {
  atS: number;
  incrementsPerS: number;
  docBytes: number;
}

interface Variant {
  name: string;
  increments: number;
  incrementsPerS: number;
  windows: Window[];
}

const now = () => performance.now();

/** Runs `step` (one or more increments per call) for `seconds`, sampling rate and size every second. */
async function timed(seconds: number, step: () => Promise<number> | number, size: () => number): Promise<{ increments: number; windows: Window[] }> {
  const start = now();
  let total = 0;
  let windowStart = start;
  let windowCount = 0;
  const windows: Window[] = [];
  while (now() - start < seconds * 1000) {
    const n = await step();
    await new Promise((r) => setImmediate(r)); // let the replica's timers run (tick, compaction), as in a server
    total += n;
    windowCount += n;
    if (now() - windowStart >= 1000) {
      windows.push({ atS: Math.round((now() - start) / 100) / 10, incrementsPerS: Math.round((windowCount * 1000) / (now() - windowStart)), docBytes: size() });
      windowStart = now();
      windowCount = 0;
    }
  }
  return { increments: total, windows };
}

function variant(name: string, seconds: number, r: { increments: number; windows: Window[] }): Variant {
  return { name, increments: r.increments, incrementsPerS: Math.round(r.increments / seconds), windows: r.windows };
}

async function automergeCounterBaseline(seconds: number): Promise<Variant> {
  let doc = A.from<{ hits: A.Counter }>({ hits: new A.Counter(0) });
  let sinceSave = 0;
  let bytes = A.save(doc).length;
  const r = await timed(
    seconds,
    () => {
      doc = A.change(doc, (d) => d.hits.increment(1));
      if (++sinceSave === 50) {
        bytes += A.saveIncremental(doc).length;
        sinceSave = 0;
      }
      return 1;
    },
    () => bytes,
  );
  return variant('automerge Counter, one change per increment (baseline)', seconds, r);
}

async function replicaInProcess(seconds: number, batched: boolean, settings: CrdtSettingsInput): Promise<Variant> {
  const replica = await Replica.open({ doc: 'bench', peer: 'n1', transport: new DetachedTransport(), settings });
  try {
    const inFlight = 1000;
    const r = await timed(
      seconds,
      async () => {
        if (!batched) {
          const p = replica.increment('hits', 1);
          await replica.flushNow();
          await p;
          return 1;
        }
        await Promise.all(Array.from({ length: inFlight }, () => replica.increment('hits', 1)));
        return inFlight;
      },
      () => replica.docBytes,
    );
    const label = batched ? `replica, batched (flush every ${settings.flushMs} ms)` : 'replica, unbatched (one change per increment)';
    return variant(`${label}${(settings.compactBytes ?? 0) >= 256 * 1024 * 1024 ? ', no compaction' : ''}`, seconds, r);
  } finally {
    await replica.close();
  }
}

async function threeReplicasOverNats(seconds: number, flushMs: number, compactBytes: number, natsUrls: string[], dir: string, tag: string): Promise<Variant & { epochs: number[]; converged: boolean }> {
  const replicas = await Promise.all(
    ['n1', 'n2', 'n3'].map(async (peer) => {
      const transport = new NatsTransport({ servers: natsUrls, name: `bench-${peer}` });
      const replica = await Replica.open({ doc: `bench${tag}`, peer, transport, dir: path.join(dir, tag, peer), settings: { flushMs, compactBytes } });
      return { replica, transport };
    }),
  );
  try {
    await new Promise((r) => setTimeout(r, 1200)); // discovery
    let expected = 0;
    const r = await timed(
      seconds,
      async () => {
        const batch = 1500;
        await Promise.all(replicas.flatMap(({ replica }) => Array.from({ length: batch / 3 }, (_, i) => replica.increment(`c${i % 8}`, 1))));
        expected += batch;
        return batch;
      },
      () => Math.max(...replicas.map(({ replica }) => replica.docBytes)),
    );
    const deadline = Date.now() + 30_000;
    const total = (rep: Replica) => [...rep.counters().values()].reduce((s, c) => s + c.value, 0);
    while (Date.now() < deadline && !replicas.every(({ replica }) => total(replica) === expected)) await new Promise((res) => setTimeout(res, 50));
    const converged = replicas.every(({ replica }) => total(replica) === expected);
    const label = `3 replicas over NATS, fsync'd, ${compactBytes >= 256 * 1024 * 1024 ? 'no compaction' : `compaction at ${compactBytes} B`}`;
    return { ...variant(label, seconds, r), epochs: replicas.map(({ replica }) => replica.epoch), converged };
  } finally {
    for (const { replica, transport } of replicas) {
      await replica.close();
      await transport.close();
    }
  }
}

function printVariant(v: Variant): void {
  console.log(`\n${v.name}: ${v.increments} increments, ${v.incrementsPerS}/s overall`);
  console.log('   t(s)   incr/s   doc bytes');
  for (const w of v.windows) console.log(`${String(w.atS).padStart(7)} ${String(w.incrementsPerS).padStart(8)} ${String(w.docBytes).padStart(11)}`);
}

export async function runCrdtBench(o: CrdtBenchOptions): Promise<void> {
  console.log(`crdt bench: ${o.seconds} s per variant (the machine is shared: absolute numbers are indicative, compare the ratios)`);
  const NO_COMPACTION = 256 * 1024 * 1024;
  const results: Variant[] = [];
  const baseline = await automergeCounterBaseline(o.seconds);
  results.push(baseline);
  printVariant(baseline);
  for (const [batched, compactBytes] of [[false, NO_COMPACTION], [true, NO_COMPACTION], [false, o.compactBytes]] as const) {
    const v = await replicaInProcess(o.seconds, batched, { flushMs: o.flushMs, compactBytes });
    results.push(v);
    printVariant(v);
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nimmer-bench-crdt-'));
  const supervisor = new Supervisor({ logDir: path.join(dir, 'logs'), handleSignals: false });
  try {
    const nats = await startNats({ dataDir: dir, mode: 'local', supervisor });
    try {
      for (const [tag, compact] of [['compact', o.natsCompactBytes], ['nocompact', NO_COMPACTION]] as const) {
        const v = await threeReplicasOverNats(o.seconds, o.flushMs, compact, nats.urls, dir, tag);
        results.push(v);
        printVariant(v);
        console.log(`   epochs at the end: ${v.epochs.join(', ')}; converged to every acknowledged increment: ${v.converged}`);
      }
    } finally {
      await nats.stop();
    }
  } finally {
    await supervisor.stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
  const base = baseline.incrementsPerS;
  console.log('\nsummary (increments/s; ratio against the plain Automerge Counter in this run):');
  for (const v of results) console.log(`  ${String(v.incrementsPerS).padStart(9)}  ×${(v.incrementsPerS / base).toFixed(2).padEnd(7)} ${v.name}; last doc ${v.windows.at(-1)?.docBytes ?? '?'} B`);
  if (o.out) {
    mkdirSync(path.dirname(o.out), { recursive: true });
    writeFileSync(o.out, JSON.stringify({ at: new Date().toISOString(), options: o, results }, null, 2));
    console.log(`report: ${o.out}`);
  }
}
