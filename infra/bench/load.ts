// The HTTP load generator the cluster bench drives both systems with: N closed-loop clients
// (each sends a request, waits for the answer, sends the next) for a warm-up and then a measured
// window, over keep-alive connections (undici pools). It runs in its own process
// (load_worker.ts) so client CPU does not sit inside a server process.
import type { ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { forkTs, ipcRequest } from '../proc/spawn_ts.ts';

export const loadLimits = {
  clientsMax: 4096,
  requestsMax: 100_000,
  durationMsMax: 10 * 60_000,
  /** Latency samples kept per run; beyond it, samples are kept by reservoir sampling. */
  samplesMax: 2_000_000,
} as const;

/** One request a client may send; clients pick uniformly at random from the pool. */
export interface LoadRequest {
  origin: string;
  method: 'GET' | 'PUT' | 'POST';
  path: string;
  /** JSON text. */
  body?: string;
}

export interface LoadSpec {
  label: string;
  clients: number;
  warmupMs: number;
  durationMs: number;
  requestTimeoutMs: number;
  requests: LoadRequest[];
}

export interface LoadResult {
  label: string;
  clients: number;
  durationMs: number;
  ok: number;
  errors: number;
  /** Non-2xx statuses by code, and transport failures under 'network'. */
  errorsByKind: Record<string, number>;
  /** The first few distinct error bodies (what went wrong, for the report). */
  errorSamples: string[];
  opsPerSec: number;
  latencyMsMean: number;
  latencyMsP50: number;
  latencyMsP99: number;
  latencyMsP999: number;
  latencyMsMax: number;
  /** Successful measured requests slower than 200 ms and 400 ms (counted, not sampled: the tail's size). */
  over200Ms: number;
  over400Ms: number;
  /** CPU the load generator itself used during the measured window, in ms per successful op. */
  clientCpuMsPerOp: number;
}

/** The q-quantile (0..1) of an ascending array, nearest-rank. */
export function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}

function validateSpec(spec: LoadSpec): void {
  if (!Number.isInteger(spec.clients) || spec.clients < 1 || spec.clients > loadLimits.clientsMax) {
    throw new Error(`load '${spec.label}': clients must be an integer in 1..${loadLimits.clientsMax}, got ${spec.clients}`);
  }
  if (spec.requests.length === 0 || spec.requests.length > loadLimits.requestsMax) {
    throw new Error(`load '${spec.label}': the request pool must hold 1..${loadLimits.requestsMax} requests, got ${spec.requests.length}`);
  }
  if (!(spec.durationMs > 0 && spec.durationMs <= loadLimits.durationMsMax) || !(spec.warmupMs >= 0)) {
    throw new Error(`load '${spec.label}': duration must be in (0, ${loadLimits.durationMsMax}] ms and warm-up ≥ 0, got ${spec.durationMs} and ${spec.warmupMs}`);
  }
}

/** Runs the load in this process. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  validateSpec(spec);
  const origins = [...new Set(spec.requests.map((r) => r.origin))];
  // Enough connections that no client waits for one: each client has at most one request in flight.
  const pools = new Map(origins.map((o) => [o, new Pool(o, { connections: spec.clients, pipelining: 1, keepAliveTimeout: 60_000 })]));
  const jsonHeaders = { 'content-type': 'application/json' };

  const samples = new Float64Array(loadLimits.samplesMax);
  let sampled = 0;
  let ok = 0;
  let over200Ms = 0;
  let over400Ms = 0;
  let errors = 0;
  const errorsByKind: Record<string, number> = {};
  const errorSamples: string[] = [];
  const noteError = (kind: string, detail: string, measured: boolean) => {
    if (!measured) return;
    errors++;
    errorsByKind[kind] = (errorsByKind[kind] ?? 0) + 1;
    if (errorSamples.length < 5 && !errorSamples.some((s) => s.startsWith(`${kind}: `))) errorSamples.push(`${kind}: ${detail.slice(0, 300)}`);
  };

  const startMs = performance.now();
  const measureFromMs = startMs + spec.warmupMs;
  const measureUntilMs = measureFromMs + spec.durationMs;
  let cpuAtMeasureStart: NodeJS.CpuUsage | null = null;
  const cpuTimer = setTimeout(() => (cpuAtMeasureStart = process.cpuUsage()), spec.warmupMs);

  async function client(): Promise<void> {
    for (;;) {
      const sentMs = performance.now();
      if (sentMs >= measureUntilMs) return;
      const measured = sentMs >= measureFromMs;
      const r = spec.requests[Math.floor(Math.random() * spec.requests.length)];
      try {
        const res = await pools.get(r.origin)!.request({
          path: r.path,
          method: r.method,
          headers: r.body === undefined ? undefined : jsonHeaders,
          body: r.body,
          headersTimeout: spec.requestTimeoutMs,
          bodyTimeout: spec.requestTimeoutMs,
        });
        const text = await res.body.text();
        const doneMs = performance.now();
        if (res.statusCode >= 200 && res.statusCode < 300) {
          if (measured && doneMs <= measureUntilMs) {
            ok++;
            const ms = doneMs - sentMs;
            if (ms > 200) over200Ms++;
            if (ms > 400) over400Ms++;
            if (sampled < samples.length) samples[sampled++] = ms;
            else {
              const j = Math.floor(Math.random() * ok);
              if (j < samples.length) samples[j] = ms;
            }
          }
        } else {
          noteError(String(res.statusCode), text, measured);
        }
      } catch (e) {
        noteError('network', e instanceof Error ? `${e.name}: ${e.message}` : String(e), measured);
        // A refused connection fails fast; do not spin.
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
  }

  await Promise.all(Array.from({ length: spec.clients }, () => client()));
  clearTimeout(cpuTimer);
  const cpu = process.cpuUsage(cpuAtMeasureStart ?? undefined);
  await Promise.all([...pools.values()].map((p) => p.close()));

  const sorted = samples.slice(0, sampled).sort();
  let sum = 0;
  for (const x of sorted) sum += x;
  return {
    label: spec.label,
    clients: spec.clients,
    durationMs: spec.durationMs,
    ok,
    errors,
    errorsByKind,
    errorSamples,
    opsPerSec: ok / (spec.durationMs / 1000),
    latencyMsMean: sorted.length ? sum / sorted.length : Number.NaN,
    latencyMsP50: quantile(sorted, 0.5),
    latencyMsP99: quantile(sorted, 0.99),
    latencyMsP999: quantile(sorted, 0.999),
    latencyMsMax: sorted.length ? sorted[sorted.length - 1] : Number.NaN,
    over200Ms,
    over400Ms,
    clientCpuMsPerOp: ok > 0 ? (cpu.user + cpu.system) / 1000 / ok : Number.NaN,
  };
}

const WORKER = fileURLToPath(new URL('./load_worker.ts', import.meta.url));

/** A load generator in a child process; it exits when this process goes away. */
export class LoadWorker {
  private constructor(readonly child: ChildProcess) {}

  static async start(): Promise<LoadWorker> {
    const child = forkTs(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await ipcRequest(child, { cmd: 'ping' }, 30_000);
    return new LoadWorker(child);
  }

  get pid(): number {
    return this.child.pid!;
  }

  run(spec: LoadSpec): Promise<LoadResult> {
    return ipcRequest<LoadResult>(this.child, { cmd: 'run', spec }, spec.warmupMs + spec.durationMs + spec.requestTimeoutMs + 30_000);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.disconnect();
    await exited;
  }
}
