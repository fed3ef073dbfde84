// `nimmer check` for real: one local cluster (Postgres, NATS, 3 node processes, the controller),
// every workload under `partition` and under `mixed` for 15 s each, plus `register` under
// `kill` and `pause`. A run fails the test on any violation, on fewer than 500 acknowledged
// operations, or when it cannot be carried out (e.g. a fault the cluster cannot inject yet).
// The runs share the cluster: each workload owns its own axes (axes.ts AXIS_SLOTS) and counters.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isProcessAlive } from '../launcher/index.ts';
import { makeTempDir, removeDir } from '../launcher/testdata/helpers.ts';
import { startCluster, type ClusterHandle } from '../up/cluster.ts';
import type { CheckOptionsInput } from './options.ts';
import type { CheckReport } from './report/report.ts';
import { runCheck } from './run.ts';

/** Seeds are fixed so a CI failure replays with the same fault plan and client choices. */
const SEED = 20_261_203;
const RUN_MS = 15_000;
const MIN_ACKED = 500;
/** Enough concurrency that a loaded 2-core machine still acknowledges 500 operations in 15 s. */
const CLIENTS = 20;
const RUN_TIMEOUT_MS = 120_000;

describe.sequential('nimmer check against a real cluster', () => {
  const dir = makeTempDir('check');
  let cluster: ClusterHandle;
  let failed = false;

  beforeAll(async () => {
    cluster = await startCluster({ dataDir: dir, port: 0, nodes: 3, shards: 4, replicas: 3, gm: { enabled: false } });
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
    const alive = cluster?.childPids().filter((pid) => isProcessAlive(pid)) ?? [];
    if (failed) {
      dumpLogs(path.join(dir, 'logs'));
      console.error(`check.test: keeping ${dir} (reports and cluster logs) for inspection`);
    } else removeDir(dir);
    expect(alive).toEqual([]);
  }, 60_000);

  async function run(workload: CheckOptionsInput['workload'], nemesis: CheckOptionsInput['nemesis']): Promise<CheckReport> {
    const lines: string[] = [];
    const report = await runCheck(
      {
        workload,
        nemesis,
        timeMs: RUN_MS,
        clients: CLIENTS,
        seed: SEED,
        minAcked: MIN_ACKED,
        recoveryMs: 2_000,
        faultOnMs: 3_000,
        faultOffMs: 4_000,
        convergenceTimeoutMs: 30_000,
        url: cluster.controllerUrl,
        outDir: path.join(dir, 'reports', `${workload}-${nemesis}`),
      },
      { log: (line) => lines.push(line) },
    );
    if (report.verdict !== 'pass') {
      failed = true;
      console.error(
        [
          `${workload} × ${nemesis}: ${report.verdict} — ${report.reason}`,
          ...report.violations.slice(0, 3).map((v) => `  ${v.kind}: ${v.message}`),
          `  replay: ${report.replay}`,
          `  report: ${report.files.markdown}`,
          '  progress:',
          ...lines.slice(-40).map((l) => `    ${l}`),
        ].join('\n'),
      );
    }
    return report;
  }

  function expectPass(report: CheckReport): void {
    expect({ verdict: report.verdict, reason: report.reason, violations: report.violations }).toEqual({ verdict: 'pass', reason: expect.any(String), violations: [] });
    expect(report.acknowledged).toBeGreaterThanOrEqual(MIN_ACKED);
    // The report's three files exist and say the same.
    const json = JSON.parse(readFileSync(report.files.json, 'utf8')) as CheckReport;
    expect(json.verdict).toBe('pass');
    expect(readFileSync(report.files.markdown, 'utf8')).toContain('— PASS');
    expect(readFileSync(report.files.plot, 'utf8')).toContain('</svg>');
  }

  // Kill and pause work on every branch today: real SIGKILL / SIGSTOP of node processes.
  it('register under kill: linearizable', async () => {
    const report = await run('register', 'kill');
    expectPass(report);
    expect(report.faultWindows.length).toBeGreaterThan(0);
    expect(report.checks.linearizability).toBe('ok');
  }, RUN_TIMEOUT_MS);

  it('register under pause: linearizable', async () => {
    const report = await run('register', 'pause');
    expectPass(report);
    expect(report.checks.linearizability).toBe('ok');
  }, RUN_TIMEOUT_MS);

  // Partitions need the controller's TCP fault proxies (the faults work of issue 4), /transfers
  // the cross-shard commit, /counters and /equilibrium the Automerge state.
  for (const workload of ['register', 'bank', 'crdt'] as const) {
    for (const nemesis of ['partition', 'mixed'] as const) {
      it(`${workload} under ${nemesis}`, async () => {
        const report = await run(workload, nemesis);
        expectPass(report);
        expect(report.faultWindows.length).toBeGreaterThan(0);
        if (workload === 'crdt') expect(report.convergenceMs).not.toBeNull();
      }, RUN_TIMEOUT_MS);
    }
  }
});

function dumpLogs(logDir: string): void {
  let files: string[] = [];
  try {
    files = readdirSync(logDir).filter((f) => f.endsWith('.log'));
  } catch {
    return;
  }
  for (const f of files) console.error(`----- ${f} (last 2000 chars) -----\n${readFileSync(path.join(logDir, f), 'utf8').slice(-2000)}`);
}
