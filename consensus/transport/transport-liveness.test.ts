// Link-level liveness: onPeerStatus(node, false) within peerDeadMs of a peer going silent —
// including one whose TCP connection stays open — and (node, true) when it answers again.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { TestNode, TestNodeOptions } from './testing/harness.ts';
import { LOOPBACK, closeAll, framesFrom, rawConnect, reservePort, startNode, waitFor } from './testing/harness.ts';
import type { Transport } from './transport.ts';
import { encodeHello, encodePing, encodeWelcome } from './wire.ts';

const FAST_LIVENESS = { heartbeatIntervalMs: 50, peerDeadMs: 300, linkSilenceCloseMs: 60_000, reconnectDelayMsMin: 10, reconnectDelayMsMax: 100 };

let cleanup: Array<{ transport: Transport }> = [];
const sockets: net.Socket[] = [];
const servers: net.Server[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  }
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  await closeAll(cleanup);
  cleanup = [];
});

async function node(id: string, limits: TestNodeOptions['limits']): Promise<TestNode> {
  const started = await startNode(id, { limits });
  cleanup.push(started);
  return started;
}

const lastStatus = (n: TestNode, peer: string) => n.statuses.filter((status) => status.node === peer).at(-1)?.up;

describe('peer liveness', () => {
  it('a peer that handshakes and then goes silent is reported down, and up again when it speaks', async () => {
    const a = await node('a', FAST_LIVENESS);
    a.transport.addPeer('ghost', { host: LOOPBACK, port: await reservePort() }); // a's own dials to ghost fail
    const ghost = await rawConnect(a.transport.address().port);
    sockets.push(ghost.socket);
    ghost.socket.write(encodeHello('ghost', 'a'));
    await waitFor('ghost reported up', () => lastStatus(a, 'ghost') === true);
    await waitFor('ghost reported down', () => lastStatus(a, 'ghost') === false);
    expect(ghost.closed).toBe(false); // the connection is still open: silence alone made it down

    ghost.socket.write(encodePing(0));
    await waitFor('ghost reported up again', () => lastStatus(a, 'ghost') === true);
    await waitFor('ghost got its pong', () => ghost.batches.some((batch) => batch.kind === 'pong'));
    expect(a.statuses.filter((status) => status.node === 'ghost').map((status) => status.up)).toEqual([true, false, true]);
  });

  it('a dialed peer that accepts but never answers pings is reported down; its silent link is then redialed', async () => {
    const a = await node('a', { ...FAST_LIVENESS, linkSilenceCloseMs: 600 });
    const mute = net.createServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => {});
      socket.write(encodeWelcome('mute'));
    });
    servers.push(mute);
    await new Promise<void>((resolve) => mute.listen(0, LOOPBACK, resolve));
    a.transport.addPeer('mute', { host: LOOPBACK, port: (mute.address() as net.AddressInfo).port });
    await waitFor('mute reported up', () => lastStatus(a, 'mute') === true);
    await waitFor('mute reported down', () => lastStatus(a, 'mute') === false);
    await waitFor('silent link closed and redialed', () => a.transport.stats().peers.mute.handshakes >= 2);
    expect(a.logs.some((entry) => entry.event === 'linkSilent' && /nothing from mute for \d+ ms/.test(entry.message))).toBe(true);
  });

  it('a real peer process stopped with SIGSTOP is reported down while its TCP stays open, and up after SIGCONT', async () => {
    const a = await node('a', FAST_LIVENESS);
    const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testing', 'peer-process.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', script, 'p', 'a', String(a.transport.address().port), JSON.stringify(FAST_LIVENESS)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    const port = await new Promise<number>((resolve, reject) => {
      let output = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const line = output.split('\n')[0];
        if (output.includes('\n')) resolve((JSON.parse(line) as { port: number }).port);
      });
      child.once('exit', (code) => reject(new Error(`peer process exited early with code ${code}`)));
    });
    a.transport.addPeer('p', { host: LOOPBACK, port });
    await waitFor('p up', () => lastStatus(a, 'p') === true && a.transport.stats().peers.p.connected, 20_000);
    a.transport.send('p', 1, Uint8Array.of(1));
    await waitFor('echo from p', () => framesFrom(a, 'p').length === 1);

    child.kill('SIGSTOP');
    await waitFor('p reported down', () => lastStatus(a, 'p') === false);
    expect(a.transport.stats().peers.p.connected).toBe(true); // TCP is open; only the heartbeats tell

    child.kill('SIGCONT');
    await waitFor('p reported up again', () => lastStatus(a, 'p') === true);
    a.transport.send('p', 2, Uint8Array.of(2));
    await waitFor('echo after resume', () => framesFrom(a, 'p').some((frame) => frame.groupId === 2));

    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
