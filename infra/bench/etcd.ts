// etcd 3.4 (Debian `etcd-server`) as the cluster bench's baseline: 3 members as real processes
// on loopback, each with its own data dir, default fsync, supervised so none outlives the bench.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { findBinary } from '../launcher/binaries.ts';
import { getJson, sleep } from '../launcher/http_probe.ts';
import { Supervisor } from '../launcher/supervisor.ts';
import { freePort } from '../launcher/index.ts';

export const ETCD_INSTALL_COMMAND = 'bash infra/setup.sh --bench';

export class EtcdMissingError extends Error {
  constructor() {
    super(`etcd not found in PATH or /usr/bin; install it with: ${ETCD_INSTALL_COMMAND}`);
    this.name = 'EtcdMissingError';
  }
}

export interface EtcdCluster {
  /** Client URLs, one per member. */
  urls: string[];
  pids: number[];
  version: string;
  stop(): Promise<void>;
}

export function findEtcd(): string | null {
  return findBinary('etcd', ['/usr/bin', '/usr/local/bin']);
}

const HEALTH_TIMEOUT_MS = 30_000;

export async function startEtcdCluster(dir: string, members = 3): Promise<EtcdCluster> {
  const etcd = findEtcd();
  if (etcd === null) throw new EtcdMissingError();
  await mkdir(dir, { recursive: true });
  const supervisor = new Supervisor({ logDir: path.join(dir, 'logs'), stopGraceMs: 5_000 });
  const names = Array.from({ length: members }, (_, i) => `m${i + 1}`);
  const clientPorts: number[] = [];
  const peerPorts: number[] = [];
  for (let i = 0; i < members; i++) {
    clientPorts.push(await freePort());
    peerPorts.push(await freePort());
  }
  const peerUrl = (i: number) => `http://127.0.0.1:${peerPorts[i]}`;
  const urls = clientPorts.map((p) => `http://127.0.0.1:${p}`);
  const initialCluster = names.map((n, i) => `${n}=${peerUrl(i)}`).join(',');
  const procs = names.map((name, i) =>
    supervisor.spawn({
      name: `etcd-${name}`,
      command: etcd,
      args: [
        `--name=${name}`,
        `--data-dir=${path.join(dir, name)}`,
        `--listen-client-urls=${urls[i]}`,
        `--advertise-client-urls=${urls[i]}`,
        `--listen-peer-urls=${peerUrl(i)}`,
        `--initial-advertise-peer-urls=${peerUrl(i)}`,
        `--initial-cluster=${initialCluster}`,
        '--initial-cluster-token=nimmer-bench',
        '--initial-cluster-state=new',
        '--logger=zap',
        '--log-outputs=stderr',
        '--log-level=warn',
      ],
    }),
  );
  const stop = () => supervisor.stopAll();
  try {
    const deadline = Date.now() + HEALTH_TIMEOUT_MS;
    for (const [i, url] of urls.entries()) {
      for (;;) {
        const p = procs[i];
        if (!p.running) throw new Error(`etcd member ${names[i]} exited during start; its log:\n${p.logTail()}`);
        const h = await getJson(`${url}/health`, 1000);
        if (h?.status === 200 && (h.body as { health?: string }).health === 'true') break;
        if (Date.now() > deadline) throw new Error(`etcd member ${names[i]} not healthy after ${HEALTH_TIMEOUT_MS} ms; its log:\n${p.logTail()}`);
        await sleep(100);
      }
    }
    const v = await getJson(`${urls[0]}/version`, 1000);
    return { urls, pids: procs.map((p) => p.pid), version: String((v?.body as { etcdserver?: string } | undefined)?.etcdserver ?? 'unknown'), stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

export const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
