// Seeded randomized test: random appends, syncs (awaited or not), group removals and restarts,
// with crashes injected at random moments. A crash keeps a random part of whatever was written
// but not fsync'd. After each crash the recovered state must equal the model after some prefix of
// the operations that includes everything acknowledged by sync(). Replay with SEED=<seed>.

import { createHash } from 'node:crypto';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { testSeed, withSeed, type Prng } from '../codec/testing/prng.ts';
import { FaultIo } from './testing/fault-io.ts';
import { digestRecovered, WalModel, type ModelGroup } from './testing/model.ts';
import { makeTempDir, removeDir } from './testing/temp-dir.ts';
import { randomUpdate } from './testing/workload.ts';
import { Wal, type WalUpdate } from './wal.ts';

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir();
});
afterEach(async () => {
  await removeDir(dir);
});

type Step = { groupId: number; update: WalUpdate } | { groupId: number; remove: true };

function hash(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

function cloneModel(m: WalModel): WalModel {
  const c = new WalModel();
  for (const [id, g] of m.groups) c.groups.set(id, { ...g, entries: [...g.entries] } satisfies ModelGroup);
  return c;
}

function applyStep(m: WalModel, s: Step): void {
  if ('remove' in s) m.remove(s.groupId);
  else m.apply(s.groupId, s.update);
}

/** Prints how the recovered state differs from the nearest acceptable model states. */
function explainMismatch(start: WalModel, steps: Step[], acked: number, recovered: string): void {
  const m = cloneModel(start);
  const lines = new Set(recovered.split('\n'));
  for (let i = 0; i <= steps.length; i++) {
    if (i > 0) applyStep(m, steps[i - 1]);
    if (i < acked) continue;
    const expected = m.digest().split('\n');
    const missing = expected.filter((l) => !lines.has(l));
    const extra = [...lines].filter((l) => !expected.includes(l));
    console.error(`after step ${i}/${steps.length} (${JSON.stringify(steps[i - 1] ?? null, (_k, v: unknown) => (v instanceof Uint8Array ? v.length : v))}):\n  expected ${missing.join('\n  expected ')}\n  recovered ${extra.join('\n  recovered ')}`);
  }
}

/** What the scenarios exercised, printed so a reader can see the test is not vacuous. */
const coverage = { crashes: 0, crashesInFlight: 0, rolled: 0, deleted: 0, rewritten: 0, snapshots: 0 };

const options = { segmentBytesMax: 4096, recordBytesMax: 2048, batchBytesMax: 4096, rewriteLagSegmentsMin: 2 };

async function runCycle(p: Prng, start: WalModel, io: FaultIo, wal: Wal) {
  const steps: Step[] = [];
  const digests: string[] = [hash(start.digest())];
  const model = cloneModel(start);
  let acked = 0;
  const unawaited: Promise<void>[] = [];
  const sync = () => {
    const covered = steps.length;
    return wal.sync().then(() => {
      acked = Math.max(acked, covered);
    });
  };
  const opsCount = p.int(20, 250);
  for (let i = 0; i < opsCount; i++) {
    const roll = p.float();
    if (roll < 0.7) {
      const groupId = p.int(1, 12);
      const update = randomUpdate(p, model, groupId, { dataBytesMax: 80, entriesPerUpdateMax: 4, pSnapshot: 0.05, pConflict: 0.1 });
      wal.append(groupId, update);
      for (const step of WalModel.steps(update)) {
        steps.push({ groupId, update: step });
        model.apply(groupId, step);
        digests.push(hash(model.digest()));
      }
    } else if (roll < 0.72 && model.groups.size > 0) {
      const groupId = p.pick([...model.groups.keys()]);
      wal.removeGroup(groupId);
      steps.push({ groupId, remove: true });
      model.remove(groupId);
      digests.push(hash(model.digest()));
    } else if (roll < 0.85) {
      await sync();
    } else if (roll < 0.95) {
      unawaited.push(sync().catch(() => undefined));
    } else {
      await new Promise((r) => setTimeout(r, p.int(0, 3)));
    }
  }
  // Crash now (possibly with writes and fsyncs in flight), or shut down cleanly.
  const clean = p.bool(0.2);
  const s = wal.stats();
  coverage.rolled += s.segmentsRolledCount;
  coverage.deleted += s.segmentsDeletedCount;
  coverage.rewritten += s.groupsRewrittenCount;
  coverage.snapshots += s.snapshotFilesWrittenCount;
  coverage.crashes += clean ? 0 : 1;
  coverage.crashesInFlight += !clean && s.pendingBytes + (s.bytesAppendedCount - s.bytesDurableCount) > 0 ? 1 : 0;
  if (clean) {
    await wal.close();
    acked = steps.length;
  } else {
    await io.crash(p);
    await wal.close().catch(() => undefined);
  }
  await Promise.all(unawaited);
  return { steps, digests, acked };
}

async function scenario(p: Prng): Promise<void> {
  let model = new WalModel();
  let expectedDigests = [hash(model.digest())];
  let ackedAtLeast = 0;
  let cycleSteps: Step[] = [];
  let cycleStart = model;
  for (let cycle = 0; cycle < 8; cycle++) {
    const io = new FaultIo();
    const { wal, recovered } = await Wal.open(dir, options, io);
    const got = hash(digestRecovered(recovered));
    const k = expectedDigests.findIndex((d, i) => i >= ackedAtLeast && d === got);
    if (k < ackedAtLeast) explainMismatch(cycleStart, cycleSteps, ackedAtLeast, digestRecovered(recovered));
    expect(k, `cycle ${cycle}: recovered state must match the model after ≥ ${ackedAtLeast} of ${expectedDigests.length - 1} steps`).toBeGreaterThanOrEqual(ackedAtLeast);
    model = cloneModel(cycleStart);
    for (let i = 0; i < k; i++) applyStep(model, cycleSteps[i]);
    expect(hash(model.digest())).toBe(got);
    const { steps, digests, acked } = await runCycle(p, model, io, wal);
    cycleStart = model;
    cycleSteps = steps;
    expectedDigests = digests;
    ackedAtLeast = acked;
  }
  const { wal, recovered } = await Wal.open(dir, options);
  const got = hash(digestRecovered(recovered));
  const k = expectedDigests.indexOf(got, ackedAtLeast);
  if (k < ackedAtLeast) explainMismatch(cycleStart, cycleSteps, ackedAtLeast, digestRecovered(recovered));
  expect(k, 'final recovery').toBeGreaterThanOrEqual(ackedAtLeast);
  await wal.close();
}

/** WAL_STRESS=<n> runs n scenarios with fresh seeds (each printed on failure). */
const scenarios = Number(process.env.WAL_STRESS ?? '1');

it(`recovers a prefix containing every acknowledged write after random crashes (seeded, ${scenarios} scenario(s))`, async () => {
  for (let i = 0; i < scenarios; i++) {
    if (i > 0) {
      await removeDir(dir);
      dir = await makeTempDir();
    }
    await withSeed('wal random crash', scenario, i === 0 ? testSeed() : Math.floor(Math.random() * 2 ** 32));
  }
  console.log(`wal random: ${JSON.stringify(coverage)}`);
}, 600_000);
