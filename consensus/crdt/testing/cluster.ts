// Test helpers: a real nats-server (through the launcher) and replicas on lossy transports.
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { startNats, Supervisor, type Nats } from '../../../infra/launcher/index.ts';
import { NatsTransport } from '../nats_transport.ts';
import { Replica } from '../replica.ts';
import type { CrdtSettingsInput } from '../options.ts';
import { LossyTransport } from './lossy_transport.ts';

export interface TestBus {
  nats: Nats;
  dir: string;
  stop(): Promise<void>;
}

export async function startTestBus(): Promise<TestBus> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nimmer-crdt-'));
  const supervisor = new Supervisor({ logDir: path.join(dir, 'logs'), handleSignals: false });
  const nats = await startNats({ dataDir: dir, mode: 'local', supervisor });
  return {
    nats,
    dir,
    async stop() {
      await nats.stop();
      await supervisor.stopAll();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Fast timings so tests converge in well under a second when the bus is healthy. */
export const FAST: CrdtSettingsInput = { flushMs: 10, heartbeatMs: 50, peerTimeoutMs: 400, syncIntervalMs: 20, resyncAfterMs: 150, reorderWaitMs: 30 };

export interface TestReplica {
  replica: Replica;
  lossy: LossyTransport;
}

export async function openTestReplica(bus: TestBus, o: { doc: string; peer: string; seed: number; dir?: string; settings?: CrdtSettingsInput }): Promise<TestReplica> {
  const lossy = new LossyTransport(new NatsTransport({ servers: bus.nats.urls, name: `${o.doc}-${o.peer}` }), o.seed);
  const replica = await Replica.open({ doc: o.doc, peer: o.peer, transport: lossy, dir: o.dir, settings: { ...FAST, ...o.settings } });
  return { replica, lossy };
}

export async function closeTestReplica(r: TestReplica): Promise<void> {
  await r.replica.close();
  await r.lossy.close();
}

export async function waitFor(what: string, cond: () => boolean, timeoutMs: number, detail: () => string = () => ''): Promise<number> {
  const started = Date.now();
  while (!cond()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${detail()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - started;
}

export function countersOf(r: Replica): Record<string, number> {
  return Object.fromEntries([...r.counters()].map(([k, v]) => [k, v.value]).sort());
}
