// `nimmer check --workload pipeline`: its own runner (infra/check_pipeline) on a cluster started the
// way its CI test starts one — directors, a compositor, fault proxies — with the same exit codes.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runPipelineCheck, type Nemesis } from '../check_pipeline/check.ts';
import { startCluster } from '../up/cluster.ts';
import { EXIT_CODE } from './report/report.ts';

export interface PipelineCliOptions {
  nemesis: string;
  timeMs: number;
  seed?: number;
  keepData: boolean;
}

export async function runPipelineFromCli(o: PipelineCliOptions): Promise<number> {
  if (o.nemesis !== 'none' && o.nemesis !== 'mixed') {
    console.error(`the pipeline workload runs under --nemesis mixed (isolate, kill a node, kill NATS) or none; got '${o.nemesis}'`);
    return EXIT_CODE.error;
  }
  const seed = o.seed ?? Math.floor(Math.random() * 1_000_000);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'nimmer-check-pipeline-'));
  console.log(`check pipeline: seed ${seed}, nemesis ${o.nemesis}, ${o.timeMs / 1000} s; starting a cluster in ${dataDir}`);
  const cluster = await startCluster({ dataDir, port: 0, nodes: 3, shards: 1, replicas: 3, compositors: 1, gm: { enabled: false }, directors: { deliveryTimeoutMs: 90_000, deliveryPollMs: 200 } });
  let ok = false;
  try {
    await cluster.waitHealthy(90_000);
    const seconds = Math.max(1, Math.round(o.timeMs / 1000));
    const r = await runPipelineCheck(cluster, { seconds, seed, nemesis: o.nemesis as Nemesis, rate: 3, faultMs: 3_000, minFaults: o.nemesis === 'none' ? 0 : 4, settleMs: 150_000, log: (l) => console.log(`[pipeline] ${l}`) });
    console.log(`posted ${r.posted}, acknowledged ${r.acknowledged}, faults ${r.faults.length}, acks ${JSON.stringify(r.acks)}, GET samples ${r.traces}`);
    for (const v of r.violations) console.error(`violation: ${v}`);
    ok = r.violations.length === 0;
    if (!ok) console.error(`replay: nimmer check --workload pipeline --nemesis ${o.nemesis} --time ${seconds}s --seed ${seed}`);
    return ok ? EXIT_CODE.pass : EXIT_CODE.violation;
  } finally {
    await cluster.stop();
    if (ok && !o.keepData) rmSync(dataDir, { recursive: true, force: true });
    else console.log(`cluster data kept in ${dataDir}`);
  }
}
