// CI: the pipeline check for 30 s under the `mixed` nemesis on a real 3-node cluster (Postgres,
// NATS, a compositor process, fault proxies). Fails on any violation; prints the seed.
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { killAll, makeTempDir, removeDir } from '../launcher/testdata/helpers.ts';
import { startCluster, type ClusterHandle } from '../up/cluster.ts';
import { runPipelineCheck } from './check.ts';

const SEED = Number(process.env.CHECK_SEED ?? 6);
const SECONDS = Number(process.env.CHECK_SECONDS ?? 30);

describe('nimmer check --workload pipeline', () => {
  const dataDir = makeTempDir('check-pipeline');
  let cluster: ClusterHandle | null = null;
  let failed = false;

  afterAll(async () => {
    const pids = cluster?.childPids() ?? [];
    await cluster?.stop();
    killAll(pids);
    if (failed) console.error(`check_pipeline: keeping ${dataDir} for inspection (logs/)`);
    else removeDir(dataDir);
  }, 120_000);

  it(`every acknowledged event is delivered to every participant once, its outcome applied, GET /events/:uid truthful (mixed nemesis, ${SECONDS} s, seed ${SEED})`, { timeout: 420_000 }, async () => {
    onTestFailed(() => {
      failed = true;
      console.error(`check_pipeline failed with seed ${SEED} (CHECK_SEED=${SEED} to replay)`);
    });
    cluster = await startCluster({ dataDir, port: 0, nodes: 3, shards: 1, replicas: 3, compositors: 1, gm: { enabled: false }, directors: { deliveryTimeoutMs: 90_000, deliveryPollMs: 200 } });
    await cluster.waitHealthy(90_000);
    const r = await runPipelineCheck(cluster, { seconds: SECONDS, seed: SEED, nemesis: 'mixed', rate: 3, faultMs: 3_000, minFaults: 4, settleMs: 150_000, log: (l) => console.log(`[check seed ${SEED}] ${l}`) });
    console.log(`[check seed ${SEED}] posted ${r.posted}, acknowledged ${r.acknowledged}, faults ${r.faults.length}, acks ${JSON.stringify(r.acks)}, GET samples ${r.traces}`);
    expect(r.violations).toEqual([]);
    expect(r.acknowledged).toBeGreaterThan(SECONDS); // the load got through the faults
    expect(r.faults.length).toBeGreaterThanOrEqual(4); // isolate, kill, relay kill, NATS kill
    expect(r.faults.some((f) => /relay-kill.*→ relay-\d/.test(f)), `a relay was killed: ${JSON.stringify(r.faults)}`).toBe(true);
  });
});
