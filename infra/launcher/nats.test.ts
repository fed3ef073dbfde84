import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson } from './http_probe.ts';
import { parseNatsFlag, startNats, type Nats, type NatsServer } from './nats.ts';
import { ringRoutePeer } from './nats_config.ts';
import { freePort } from './ports.ts';
import { isProcessAlive } from './proc_status.ts';
import { readState } from './state.ts';
import { Supervisor } from './supervisor.ts';
import { killAll, makeTempDir, removeDir } from './testdata/helpers.ts';
import { natsRequest } from './testdata/nats_wire.ts';

let dataDir: string;
let supervisor: Supervisor;
const strayPids = new Set<number>();

beforeAll(() => {
  dataDir = makeTempDir('nats');
  supervisor = new Supervisor({ logDir: path.join(dataDir, 'logs'), handleSignals: false });
});

afterAll(async () => {
  await supervisor?.stopAll();
  killAll(strayPids);
  removeDir(dataDir);
});

function track(nats: Nats): Nats {
  for (const s of nats.servers) if (s.pid !== null) strayPids.add(s.pid);
  return nats;
}

async function monitor<T>(server: NatsServer, endpoint: string): Promise<T> {
  const r = await getJson(`${server.monitorUrl}${endpoint}`);
  expect(r?.status).toBe(200);
  return r?.body as T;
}

type Jsz = { config?: { store_dir?: string }; meta_cluster?: { leader?: string; cluster_size?: number } };

async function createStream(server: NatsServer, name: string, replicas: number): Promise<{ error?: unknown; config?: { num_replicas: number } }> {
  const reply = await natsRequest(
    server.clientUrl,
    `$JS.API.STREAM.CREATE.${name}`,
    JSON.stringify({ name, subjects: [`${name.toLowerCase()}.>`], num_replicas: replicas, storage: 'file' }),
  );
  return JSON.parse(reply) as { error?: unknown; config?: { num_replicas: number } };
}

describe('startNats local (one server)', () => {
  let nats: Nats;

  it('starts nats-server with JetStream on loopback ports, its store in the data dir', async () => {
    nats = track(await startNats({ dataDir, mode: 'local', supervisor }));
    expect(nats.servers).toHaveLength(1);
    const [server] = nats.servers as [NatsServer];
    expect(nats.urls).toEqual([`nats://127.0.0.1:${server.clientPort}`]);
    expect(server.clusterPort).toBeNull();
    const varz = await monitor<{ server_name: string; jetstream?: { config?: { store_dir?: string } } }>(server, '/varz');
    expect(varz.server_name).toBe('nats0');
    expect(varz.jetstream?.config?.store_dir).toBe(path.join(dataDir, 'nats', 'local', 'nats0', 'jetstream'));
    const jsz = await monitor<Jsz>(server, '/jsz');
    expect(jsz.config?.store_dir).toContain(dataDir);
    expect(await createStream(server, 'SINGLE', 1)).not.toHaveProperty('error');
    expect(readFileSync(server.logFile, 'utf8')).toContain('Starting JetStream');
  });

  it('restarts on the remembered ports with its streams', async () => {
    const before = nats.servers[0] as NatsServer;
    await nats.stop();
    expect(before.pid).toBeNull();
    expect((await readState(dataDir)).nats?.servers[0]?.clientPort).toBe(before.clientPort);
    nats = track(await startNats({ dataDir, mode: 'local', supervisor }));
    const after = nats.servers[0] as NatsServer;
    expect([after.clientPort, after.monitorPort]).toEqual([before.clientPort, before.monitorPort]);
    const info = JSON.parse(await natsRequest(after.clientUrl, '$JS.API.STREAM.INFO.SINGLE', '')) as { config?: { name: string } };
    expect(info.config?.name).toBe('SINGLE');
    await nats.stop();
  });

  it('moves to a fresh port when the remembered one was taken meanwhile, and remembers that', async () => {
    const before = nats.servers[0] as NatsServer;
    const squatter = net.createServer();
    await new Promise<void>((r) => squatter.listen(before.clientPort, '127.0.0.1', r));
    try {
      nats = track(await startNats({ dataDir, mode: 'local', supervisor }));
      const after = nats.servers[0] as NatsServer;
      expect(after.clientPort).not.toBe(before.clientPort);
      expect(after.monitorPort).toBe(before.monitorPort);
      expect((await readState(dataDir)).nats?.servers[0]?.clientPort).toBe(after.clientPort);
    } finally {
      squatter.close();
      await nats.stop();
    }
  });
});

describe('startNats local-cluster (three servers)', () => {
  let nats: Nats;

  beforeAll(async () => {
    nats = track(await startNats({ dataDir, mode: 'local-cluster', supervisor }));
  });

  afterAll(async () => {
    await nats?.stop();
  });

  it('forms a full mesh with a JetStream meta leader, so R3 streams work', async () => {
    expect(nats.servers.map((s) => s.name)).toEqual(['nats0', 'nats1', 'nats2']);
    expect(new Set(nats.servers.flatMap((s) => [s.clientPort, s.clusterPort, s.monitorPort])).size).toBe(9);
    for (const server of nats.servers) {
      expect((await monitor<{ num_routes: number }>(server, '/routez')).num_routes).toBe(2);
      const jsz = await monitor<Jsz>(server, '/jsz');
      expect(jsz.meta_cluster?.leader).toMatch(/^nats[012]$/);
      expect(jsz.meta_cluster?.cluster_size).toBe(3);
    }
    const created = await createStream(nats.servers[0] as NatsServer, 'REPLICATED', 3);
    expect(created.error).toBeUndefined();
    expect(created.config?.num_replicas).toBe(3);
  });

  it('survives the SIGKILL of one server, which restarts on the same ports and rejoins', async () => {
    const victim = nats.servers[1] as NatsServer;
    const pid = victim.pid as number;
    await victim.kill();
    expect(victim.running).toBe(false);
    expect(isProcessAlive(pid)).toBe(false);
    expect(readFileSync(victim.logFile, 'utf8')).toMatch(/exit nats1 \(pid \d+\): signal SIGKILL\n/);
    // Two of three keep a quorum: the others still see each other and a meta leader.
    const survivor = nats.servers[0] as NatsServer;
    await expect.poll(async () => (await monitor<{ num_routes: number }>(survivor, '/routez')).num_routes, { timeout: 10_000 }).toBe(1);
    await expect.poll(async () => (await monitor<Jsz>(survivor, '/jsz')).meta_cluster?.leader, { timeout: 15_000 }).toMatch(/^nats[02]$/);

    await victim.start();
    strayPids.add(victim.pid as number);
    expect(victim.pid).not.toBe(pid);
    for (const server of nats.servers) {
      await expect.poll(async () => (await monitor<{ num_routes: number }>(server, '/routez')).num_routes, { timeout: 15_000 }).toBe(2);
    }
    const info = JSON.parse(await natsRequest(victim.clientUrl, '$JS.API.STREAM.INFO.REPLICATED', '')) as { config?: { num_replicas: number } };
    expect(info.config?.num_replicas).toBe(3);
  });

  it('accepts an existing deployment by URL and starts nothing', async () => {
    const external = await startNats({ dataDir, mode: 'external', urls: nats.urls });
    expect(external).toMatchObject({ mode: 'external', urls: nats.urls, servers: [] });
    await external.stop();
    expect(nats.servers.every((s) => s.running)).toBe(true);
    const nobody = await freePort();
    await expect(startNats({ dataDir, mode: 'external', urls: [`nats://127.0.0.1:${nobody}`] })).rejects.toThrow(/no NATS server answered/);
    await expect(startNats({ dataDir, mode: 'external', urls: ['http://127.0.0.1:1'] })).rejects.toThrow(/nats:\/\//);
    expect(parseNatsFlag('local-cluster')).toEqual({ mode: 'local-cluster' });
    expect(parseNatsFlag('nats://a:1, nats://b:2')).toEqual({ mode: 'external', urls: ['nats://a:1', 'nats://b:2'] });
  });
});

describe('startNats routeUrlsFor', () => {
  it('routes the cluster through the URLs it returns (here: TCP relays standing in for fault proxies)', async () => {
    const relays: net.Server[] = [];
    const relayed = new Set<number>();
    const relay = async (targetPort: number): Promise<number> => {
      const server = net.createServer((inbound) => {
        relayed.add(targetPort);
        const outbound = net.connect({ host: '127.0.0.1', port: targetPort });
        inbound.pipe(outbound).pipe(inbound);
        inbound.on('error', () => outbound.destroy());
        outbound.on('error', () => inbound.destroy());
      });
      relays.push(server);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return (server.address() as net.AddressInfo).port;
    };
    const proxyDir = path.join(dataDir, 'proxied');
    let nats: Nats | undefined;
    try {
      nats = track(
        await startNats({
          dataDir: proxyDir,
          mode: 'local-cluster',
          supervisor: new Supervisor({ logDir: path.join(proxyDir, 'logs'), handleSignals: false }),
          routeUrlsFor: async (i, clusterPorts) => [
            `nats-route://127.0.0.1:${await relay(clusterPorts[ringRoutePeer(i, clusterPorts.length)] as number)}`,
          ],
        }),
      );
      const config = readFileSync(path.join(proxyDir, 'nats', 'local-cluster', 'nats0.conf'), 'utf8');
      // nats0 listens on its own cluster port but dials the others only through relays.
      for (const s of nats.servers.slice(1)) expect(config).not.toContain(`:${s.clusterPort}"`);
      expect(config).toContain('advertise: "127.0.0.1:1"');
      expect(relayed.size).toBe(3);
      const clusterPorts = new Set(nats.servers.map((s) => s.clusterPort));
      for (const server of nats.servers) {
        await expect.poll(async () => (await monitor<{ num_routes: number }>(server, '/routez')).num_routes).toBe(2);
        const routez = await monitor<{ num_routes: number; routes: Array<{ port: number }> }>(server, '/routez');
        expect(routez.num_routes).toBe(2);
        // A direct route would show a peer's cluster port at its dialling end: gossip must not bypass the relays.
        for (const route of routez.routes) expect(clusterPorts.has(route.port)).toBe(false);
      }
    } finally {
      await nats?.stop();
      for (const r of relays) r.close();
    }
  });
});
