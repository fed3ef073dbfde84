// WAL benchmark (run on demand, never in the test suite):
//   node --import tsx consensus/wal/bench/wal-bench.ts [dir]
// Measures, on the disk holding [dir] (default: os.tmpdir()):
//   1. baseline: raw 4 KiB append + fdatasync per second;
//   2. append+sync throughput of 256-byte entries with batches of various sizes;
//   3. group commit: C concurrent committers (each append 1 entry, await sync) across 100 groups,
//      the shape of a node serving many Raft groups; throughput, fsyncs and latency percentiles.
// Prints ratios against the baseline measured in the same run.

import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Snapshot } from '../../raft/types.ts';
import { Wal } from '../wal.ts';

const entryBytes = 256;
const groupsCount = 100;
const snapshotEveryEntries = 5_000;

async function rawFsyncPerSec(dir: string, seconds: number): Promise<number> {
  const file = path.join(dir, 'raw-fsync.bin');
  const handle = await fs.open(file, 'w');
  const block = Buffer.alloc(4096, 7);
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    await handle.write(block, 0, block.length, n * block.length);
    await handle.datasync();
    n++;
  }
  const rate = n / ((performance.now() - t0) / 1000);
  await handle.close();
  await fs.unlink(file);
  return rate;
}

function snapshotAt(index: number, term: number): Snapshot {
  return { metadata: { index, term, confState: { voters: [1, 2, 3], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } }, data: new Uint8Array(64) };
}

class Groups {
  private readonly next = new Array<number>(groupsCount).fill(1);
  readonly data = new Uint8Array(entryBytes).fill(1);

  /** Appends one entry to group g (snapshotting now and then so memory stays bounded). */
  append(wal: Wal, g: number): void {
    const index = this.next[g]++;
    const update: Parameters<Wal['append']>[1] = { entries: [{ term: 1, index, type: 'normal', data: this.data }], hardState: { term: 1, vote: 1, commit: index } };
    if (index % snapshotEveryEntries === 0) update.snapshot = snapshotAt(index - 1, 1);
    wal.append(g + 1, update);
  }
}

async function batched(dir: string, batchEntries: number, seconds: number): Promise<{ entriesPerSec: number; syncsPerSec: number }> {
  const { wal } = await Wal.open(dir);
  const groups = new Groups();
  let entries = 0;
  let syncs = 0;
  let g = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    for (let i = 0; i < batchEntries; i++) {
      groups.append(wal, g);
      g = (g + 1) % groupsCount;
    }
    await wal.sync();
    entries += batchEntries;
    syncs++;
  }
  const s = (performance.now() - t0) / 1000;
  await wal.close();
  return { entriesPerSec: entries / s, syncsPerSec: syncs / s };
}

async function groupCommit(dir: string, committers: number, seconds: number) {
  const { wal } = await Wal.open(dir);
  const groups = new Groups();
  const latenciesMs: number[] = [];
  let commits = 0;
  const fsync0 = wal.stats().fsyncCount;
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  const committer = async (id: number) => {
    let g = id % groupsCount;
    while (performance.now() < deadline) {
      const start = performance.now();
      groups.append(wal, g);
      await wal.sync();
      latenciesMs.push(performance.now() - start);
      commits++;
      g = (g + committers) % groupsCount;
    }
  };
  await Promise.all(Array.from({ length: committers }, (_, i) => committer(i)));
  const s = (performance.now() - t0) / 1000;
  const fsyncs = wal.stats().fsyncCount - fsync0;
  await wal.close();
  latenciesMs.sort((a, b) => a - b);
  const pct = (p: number) => latenciesMs[Math.min(latenciesMs.length - 1, Math.floor(p * latenciesMs.length))];
  return { commitsPerSec: commits / s, fsyncsPerSec: fsyncs / s, p50Ms: pct(0.5), p99Ms: pct(0.99) };
}

async function main(): Promise<void> {
  const base = process.argv[2] ?? os.tmpdir();
  const dir = await fs.mkdtemp(path.join(base, 'nimmer-wal-bench-'));
  const seconds = Number(process.env.BENCH_SECONDS ?? '3');
  try {
    const fsyncRate = await rawFsyncPerSec(dir, seconds);
    console.log(`disk: ${base} (${os.cpus().length} cpus)`);
    console.log(`baseline: raw 4 KiB write+fdatasync: ${fsyncRate.toFixed(0)}/s`);
    for (const batch of [1, 16, 128, 1024]) {
      const runDir = await fs.mkdtemp(path.join(dir, 'b-'));
      const r = await batched(runDir, batch, seconds);
      console.log(
        `append+sync, ${batch} x ${entryBytes} B entries per sync: ${r.entriesPerSec.toFixed(0)} entries/s, ${r.syncsPerSec.toFixed(0)} syncs/s ` +
          `(${(r.syncsPerSec / fsyncRate).toFixed(2)}x baseline fsync rate, ${((r.entriesPerSec * entryBytes) / 1e6).toFixed(1)} MB/s payload)`,
      );
    }
    for (const committers of [1, 64, 512, 2048]) {
      const runDir = await fs.mkdtemp(path.join(dir, 'g-'));
      const r = await groupCommit(runDir, committers, seconds);
      console.log(
        `group commit, ${committers} concurrent committers over ${groupsCount} groups: ${r.commitsPerSec.toFixed(0)} commits/s with ${r.fsyncsPerSec.toFixed(0)} fsyncs/s ` +
          `(${(r.commitsPerSec / fsyncRate).toFixed(1)}x baseline), latency p50 ${r.p50Ms.toFixed(2)} ms p99 ${r.p99Ms.toFixed(2)} ms`,
      );
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

await main();
