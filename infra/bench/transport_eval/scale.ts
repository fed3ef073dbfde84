// Section 5: the server's cost of per-player state. For each level N, a fresh nats-server with one stream
// of N events (2 messages each); then either N durable consumers (one per player, kept by the server while
// the player is offline) or N ordered consumers replaying each event from the start (the checkpoint replay:
// ephemeral, nothing kept once the player leaves). Measured: nats-server RSS, CPU (/proc), JetStream disk.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNats, Supervisor } from '../../launcher/index.ts';
import { until } from '../transport.ts';
import { load1m } from './env.ts';

export type ScaleKind = 'durable' | 'ordered';

export interface ScaleRow {
  kind: ScaleKind;
  consumers: number;
  setupMs: number;
  serverCpuMsSetup: number;
  serverCpuMsPerSecIdle: number;
  rssMbBefore: number;
  rssMbAfter: number;
  diskMbAfter: number;
  load1m: number;
}

const CONSUMERS_PER_CONNECTION = 250;
const CONCURRENCY = 32;
const IDLE_MS = 3_000;
const CLOCK_TICKS_PER_S = 100;

function serverCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S;
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? Number.NaN : Number(m[1]) / 1024;
}

function diskMb(dir: string): number {
  return Number(execFileSync('du', ['-sk', dir], { encoding: 'utf8' }).split('\t')[0]) / 1024;
}

async function inParallel(n: number, body: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, n) }, async () => {
    while (next < n) await body(next++);
  }));
}

export async function runScaleLevel(root: string, kind: ScaleKind, consumers: number): Promise<ScaleRow> {
  const dir = mkdtempSync(path.join(root, `scale-${kind}-${consumers}-`));
  const supervisor = new Supervisor({ logDir: path.join(dir, 'logs'), handleSignals: true });
  const conns: NatsConnection[] = [];
  try {
    const nats = await startNats({ dataDir: dir, mode: 'local', supervisor });
    const pid = nats.servers[0]!.pid!;
    for (let i = 0; i < Math.ceil(consumers / CONSUMERS_PER_CONNECTION); i++) conns.push(await connect({ servers: nats.urls }));
    const nc = conns[0]!;
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'SCALE', subjects: ['scale.ev.>'] });
    const js = jetstream(nc);
    const body = new TextEncoder().encode(JSON.stringify({ line: 'x'.repeat(150) }));
    for (let i = 0; i < consumers; i += 500) {
      await Promise.all(Array.from({ length: Math.min(500, consumers - i) }, (_, k) => Promise.all([js.publish(`scale.ev.${i + k}.a`, body), js.publish(`scale.ev.${i + k}.b`, body)])));
    }
    const rssMbBefore = rssMb(pid);
    const cpu0 = serverCpuMs(pid);
    const t0 = performance.now();
    let received = 0;
    if (kind === 'durable') {
      await inParallel(consumers, async (i) => {
        await jsm.consumers.add('SCALE', { durable_name: `player_${i}`, filter_subject: `scale.ev.${i}.>`, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All });
      });
    } else {
      await inParallel(consumers, async (i) => {
        const c = await jetstream(conns[Math.floor(i / CONSUMERS_PER_CONNECTION)]!).consumers.get('SCALE', { filter_subjects: `scale.ev.${i}.>`, deliver_policy: DeliverPolicy.All });
        const messages = await c.consume({ max_messages: 16 });
        void (async () => {
          for await (const _m of messages) received++;
        })();
      });
      await until(async () => received >= consumers * 2, 300_000, `${consumers} ordered consumers to replay their 2 messages each (${received} so far)`, 50);
    }
    const setupMs = performance.now() - t0;
    const cpuSetup = serverCpuMs(pid) - cpu0;
    const cpuIdle0 = serverCpuMs(pid);
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const serverCpuMsPerSecIdle = ((serverCpuMs(pid) - cpuIdle0) / IDLE_MS) * 1000;
    const row: ScaleRow = { kind, consumers, setupMs, serverCpuMsSetup: cpuSetup, serverCpuMsPerSecIdle, rssMbBefore, rssMbAfter: rssMb(pid), diskMbAfter: diskMb(dir), load1m: load1m() };
    return row;
  } finally {
    for (const c of conns) await c.close().catch(() => undefined);
    await supervisor.stopAll();
  }
}
