// `nimmer check`: one Jepsen-style run. Start a cluster (or use --url), prepare the workload,
// run N clients and the nemesis together for --time, heal, let the cluster recover, do the
// final reads, check, and write the report. Seeded: the seed fixes the fault plan and every
// client's choices (the cluster's timing is real, so a replay is close, not identical).
import { randomInt } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { seededRandom } from '../../consensus/raft/index.ts';
import { startCluster, type ClusterHandle } from '../up/cluster.ts';
import { shardIds } from './axes.ts';
import { describeAnswer, request, type RequestSpec } from './http.ts';
import { NemesisError, NemesisRunner } from './nemesis/runner.ts';
import { NodePicker } from './node_picker.ts';
import { planFaultWindows } from './nemesis/schedule.ts';
import { OpLog } from './op_log.ts';
import { parseCheckOptions, replayCommand, SEED_MAX, type CheckOptions, type CheckOptionsInput } from './options.ts';
import type { CheckReport, Verdict } from './report/report.ts';
import { writeReport } from './report/write.ts';
import type { ClientState, ClusterNode, RunContext, Violation, WorkloadResult } from './workload.ts';
import { createWorkload } from './workloads/index.ts';

export interface RunCheckHooks {
  /** Progress lines; default stdout. */
  log?: (line: string) => void;
  /** Stop the started cluster on SIGINT/SIGTERM (the CLI). */
  handleSignals?: boolean;
}

const PROGRESS_EVERY_MS = 2_000;
/** Share of client requests sent to the controller (which forwards to a node) rather than to a node. */
const VIA_CONTROLLER_SHARE = 0.2;
const CLUSTER_HEALTHY_TIMEOUT_MS = 90_000;
const HEALTH_POLL_MS = 200;
/** Client i's PRNG stream: the seed mixed with the client's number. */
const clientSeed = (seed: number, client: number) => (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(client + 1, 0xc2b2ae35)) >>> 0;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function clusterNodes(controllerUrl: string, timeoutMs: number): Promise<ClusterNode[]> {
  const answer = await request({ method: 'GET', url: `${controllerUrl}/cluster`, timeoutMs });
  if (answer.status !== 200) throw new Error(`GET ${controllerUrl}/cluster failed: ${describeAnswer(answer)}; is it the controller of \`nimmer up\`?`);
  const nodes = ((answer.body as { nodes?: Array<{ id: string; url: string }> }).nodes ?? []).map((n) => ({ name: n.id, url: n.url.replace(/\/$/, '') }));
  if (nodes.length === 0) throw new Error(`GET ${controllerUrl}/cluster lists no nodes`);
  return nodes;
}

/** Polls GET /health until 200; resolves to when it answered ok (ms since run start) or null at the deadline. */
async function healthyBy(controllerUrl: string, now: () => number, deadlineMs: number, timeoutMs: number): Promise<number | null> {
  while (now() < deadlineMs) {
    const answer = await request({ method: 'GET', url: `${controllerUrl}/health`, timeoutMs });
    if (answer.status === 200) return now();
    await sleep(HEALTH_POLL_MS);
  }
  return null;
}

function verdictOf(result: WorkloadResult | null, error: string | undefined, acked: number, minAcked: number): { verdict: Verdict; reason: string } {
  if (result !== null && result.violations.length > 0) {
    return { verdict: 'violation', reason: `${result.violations.length} violation(s): ${[...new Set(result.violations.map((v) => v.kind))].join(', ')}` };
  }
  if (error !== undefined) return { verdict: 'error', reason: error };
  if (result === null) return { verdict: 'error', reason: 'the workload was not checked' };
  if (result.inconclusive) return { verdict: 'unknown', reason: 'a checker hit its search limit before deciding (raise --check-timeout, or run shorter)' };
  if (acked < minAcked) return { verdict: 'too-few-acked', reason: `${acked} operations acknowledged, fewer than --min-acked ${minAcked}: the run proves too little` };
  return { verdict: 'pass', reason: `no violation in ${acked} acknowledged operations` };
}

export async function runCheck(input: CheckOptionsInput, hooks: RunCheckHooks = {}): Promise<CheckReport> {
  const options: CheckOptions = parseCheckOptions(input);
  const log = hooks.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const seed = options.seed ?? randomInt(0, SEED_MAX);
  const replay = replayCommand(options, seed);
  const outDir = path.resolve(options.outDir ?? path.join('check-results', `${options.workload}-${options.nemesis}-${seed}`));
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const workload = createWorkload(options.workload, { now });
  log(`nimmer check: workload ${options.workload}, nemesis ${options.nemesis}, ${options.timeMs / 1000} s, ${options.clients} clients, seed ${seed}`);
  const ops = new OpLog();
  let cluster: ClusterHandle | null = null;
  let dataDir: string | null = null;
  let controllerUrl = options.url?.replace(/\/$/, '') ?? '';
  let nodes: ClusterNode[] = [];
  let shards: string[] = [];
  let nemesis: NemesisRunner | null = null;
  let result: WorkloadResult | null = null;
  let error: string | undefined;
  let clientsStoppedMs: number | null = null;
  let healedAtMs: number | null = null;
  let healthyAfterHealMs: number | null = null;
  /** When the clients started (ms since the command started): time 0 of the report and the plot. */
  let runStartMs = 0;
  const incarnations = new Map<string, number>();

  try {
    if (options.url === undefined) {
      dataDir = await mkdtemp(path.join(os.tmpdir(), 'nimmer-check-'));
      cluster = await startCluster({
        dataDir,
        port: 0,
        nodes: options.nodes,
        shards: options.shards,
        replicas: Math.min(3, options.nodes),
        // The GM tick proposes events of its own: not part of any workload's history.
        gm: { enabled: false },
        handleSignals: hooks.handleSignals ?? false,
        onProgress: (m) => log(`cluster: ${m}`),
      });
      controllerUrl = cluster.controllerUrl;
    }
    if ((await healthyBy(controllerUrl, now, now() + CLUSTER_HEALTHY_TIMEOUT_MS, options.requestTimeoutMs)) === null) {
      throw new Error(`the cluster at ${controllerUrl} did not become healthy (GET /health) within ${CLUSTER_HEALTHY_TIMEOUT_MS / 1000} s`);
    }
    nodes = await clusterNodes(controllerUrl, options.requestTimeoutMs);
    shards = await shardIds(controllerUrl, options.requestTimeoutMs);
    const picker = new NodePicker(nodes, now);
    const ctx: RunContext = {
      options,
      seed,
      controllerUrl,
      nodes,
      shards,
      now,
      ops,
      log,
      pickNode: (rng) => picker.pick(rng),
      pickOrigin: (rng) => (rng() < VIA_CONTROLLER_SHARE ? controllerUrl : picker.pick(rng).url),
      request: async (spec: Omit<RequestSpec, 'timeoutMs'> & { timeoutMs?: number }) => {
        const answer = await request({ ...spec, timeoutMs: spec.timeoutMs ?? options.requestTimeoutMs });
        picker.observe(spec.url, answer);
        return answer;
      },
      incarnation: (node) => incarnations.get(node) ?? 0,
    };

    await workload.setup(ctx);
    runStartMs = now();
    const runEndMs = runStartMs + options.timeMs;
    const windows = planFaultWindows({
      nemesis: options.nemesis,
      seed,
      durationMs: options.timeMs,
      nodes: nodes.map((n) => n.name),
      faultOnMs: options.faultOnMs,
      faultOffMs: options.faultOffMs,
    }).map((w) => ({ ...w, startMs: w.startMs + runStartMs, endMs: w.endMs + runStartMs }));
    nemesis = new NemesisRunner({
      controllerUrl,
      windows,
      now,
      endMs: runEndMs,
      log,
      onFault: (f) => {
        if (f.type === 'kill') incarnations.set(f.node, (incarnations.get(f.node) ?? 0) + 1);
      },
    });
    log(`run: ${options.clients} clients for ${options.timeMs / 1000} s; ${windows.length} fault window(s) planned`);

    let stop = false;
    const clients: ClientState[] = Array.from({ length: options.clients }, (_, id) => ({ id, rng: seededRandom(clientSeed(seed, id)), invoked: 0 }));
    const clientLoops = clients.map(async (client) => {
      while (!stop && now() < runEndMs) {
        await workload.step(ctx, client);
        client.invoked++;
      }
    });
    const nemesisRun = nemesis.run().catch((e: unknown) => {
      error = e instanceof Error ? e.message : String(e);
      stop = true;
    });
    const progress = setInterval(() => {
      const t = ops.total();
      const fault = nemesis?.active;
      log(
        `[${((now() - runStartMs) / 1000).toFixed(1).padStart(5)} s] ok ${t.ok} fail ${t.fail} info ${t.info}` +
          `  (${(t.ok / Math.max(0.001, (now() - runStartMs) / 1000)).toFixed(0)} ok/s)${fault ? `  fault: ${fault.label}` : ''}`,
      );
    }, PROGRESS_EVERY_MS);
    try {
      const ended = new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          if (stop || now() >= runEndMs) {
            clearInterval(timer);
            resolve();
          }
        }, 50);
      });
      await ended;
      stop = true;
      nemesis.stop();
      await nemesisRun;
      // Clients finish their last operation while the nemesis heals everything.
      await Promise.all([
        Promise.all(clientLoops).then(() => (clientsStoppedMs = now())),
        nemesis.heal().then(() => (healedAtMs = now())),
      ]);
    } finally {
      clearInterval(progress);
    }
    const healed = healedAtMs ?? now();
    ops.beginFinalPhase();
    workload.onHeal?.(ctx, healed);
    log(`run over: ${JSON.stringify(ops.total())}; healed; recovering for ${options.recoveryMs / 1000} s`);

    const healthyAt = healthyBy(controllerUrl, now, healed + Math.max(options.recoveryMs, CLUSTER_HEALTHY_TIMEOUT_MS), options.requestTimeoutMs);
    await sleep(Math.max(0, healed + options.recoveryMs - now()));
    const healthyMs = await healthyAt;
    healthyAfterHealMs = healthyMs === null ? null : healthyMs - healed;
    if (healthyMs === null) log('warning: GET /health did not answer ok after the heal; the final phase runs anyway');

    await workload.finish(ctx, healed);
    result = workload.check(ctx);
  } catch (e) {
    error = e instanceof NemesisError ? `nemesis: ${e.message}` : e instanceof Error ? e.message : String(e);
    if (nemesis !== null && healedAtMs === null) await nemesis.heal().catch(() => undefined);
  }

  const acknowledged = ops.total().ok;
  const { verdict, reason } = verdictOf(result, error, acknowledged, options.minAcked);
  const runSeconds = clientsStoppedMs !== null ? options.timeMs / 1000 : Math.max(0.001, now() / 1000);
  const violations: Violation[] = result?.violations ?? [];
  const keepData = dataDir !== null && (options.keepData || verdict !== 'pass');

  if (cluster !== null) await cluster.stop();
  if (dataDir !== null && !keepData) await rm(dataDir, { recursive: true, force: true });

  const report: CheckReport = {
    version: 1,
    verdict,
    reason,
    seed,
    replay,
    config: options,
    startedAt,
    wallMs: Math.round(now()),
    cluster: { controllerUrl, nodes: nodes.map((n) => n.name), shards, started: cluster !== null, dataDir: keepData ? dataDir : null },
    ops: {
      byKind: ops.byKind(),
      total: ops.total(),
      finalByKind: ops.byKind('final'),
      errors: ops.errors(),
      opsPerSec: Math.round((ops.total().ok / runSeconds) * 10) / 10,
    },
    acknowledged,
    minAcked: options.minAcked,
    runStartMs: Math.round(runStartMs),
    faultWindows: (nemesis?.applied ?? []).map((w) => ({
      ...w,
      startMs: w.startMs - runStartMs,
      activeMs: w.activeMs - runStartMs,
      healStartMs: w.healStartMs - runStartMs,
      endMs: w.endMs - runStartMs,
    })),
    clientsStoppedMs: clientsStoppedMs === null ? null : clientsStoppedMs - runStartMs,
    healedAtMs: healedAtMs === null ? null : (healedAtMs as number) - runStartMs,
    healthyAfterHealMs,
    convergenceMs: result?.convergenceMs ?? null,
    violations,
    checks: result?.summary ?? {},
    ...(error !== undefined ? { error } : {}),
    files: { json: path.join(outDir, 'results.json'), markdown: path.join(outDir, 'summary.md'), plot: path.join(outDir, 'latency.svg') },
  };
  await writeReport(report, ops.allSamples(), runStartMs);

  log(`verdict: ${verdict.toUpperCase()} — ${reason}`);
  for (const v of violations.slice(0, 5)) log(`  violation (${v.kind}): ${v.message.split('\n')[0]}`);
  log(`report: ${report.files.markdown} · ${report.files.json} · ${report.files.plot}`);
  if (keepData && dataDir !== null) log(`the cluster's data dir (logs, WALs) is kept in ${dataDir}`);
  if (verdict !== 'pass') log(`seed ${seed}; replay with: ${replay}`);
  return report;
}
