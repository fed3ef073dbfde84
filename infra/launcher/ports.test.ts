import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { allocatePorts, freePort, isPortFree, looksLikeAddressInUse, PortInUseError, retryOnPortInUse, waitForTcp } from './ports.ts';

const servers: net.Server[] = [];

async function occupy(port = 0): Promise<number> {
  const server = net.createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

describe('ports', () => {
  it('freePort gives a port that can be bound; isPortFree tells a taken one apart', async () => {
    const port = await freePort();
    expect(await isPortFree(port)).toBe(true);
    await occupy(port);
    expect(await isPortFree(port)).toBe(false);
  });

  it('allocatePorts keeps free preferred ports, replaces taken or repeated ones, and never repeats', async () => {
    const wanted = await freePort();
    const taken = await occupy();
    const ports = await allocatePorts(4, [wanted, taken, wanted, undefined]);
    expect(ports[0]).toBe(wanted);
    expect(ports[1]).not.toBe(taken);
    expect(ports[2]).not.toBe(wanted);
    expect(new Set(ports).size).toBe(4);
    for (const p of ports) expect(await isPortFree(p)).toBe(true);
  });

  it('retryOnPortInUse retries a lost port race, and nothing else', async () => {
    const attempts: number[] = [];
    const result = await retryOnPortInUse(async (n) => {
      attempts.push(n);
      if (n < 2) throw new PortInUseError('lost the race');
      return 'bound';
    });
    expect(result).toBe('bound');
    expect(attempts).toEqual([0, 1, 2]);
    await expect(retryOnPortInUse(async () => Promise.reject(new PortInUseError('always')), 2)).rejects.toThrow('always');
    let calls = 0;
    await expect(
      retryOnPortInUse(async () => {
        calls++;
        throw new Error('config error');
      }),
    ).rejects.toThrow('config error');
    expect(calls).toBe(1);
  });

  it('recognises the bind failures nats-server and postgres log', () => {
    expect(looksLikeAddressInUse('[FTL] Error listening on port: 127.0.0.1:4222, "listen tcp 127.0.0.1:4222: bind: address already in use"')).toBe(true);
    expect(looksLikeAddressInUse('LOG:  could not bind IPv4 address "127.0.0.1": Address already in use')).toBe(true);
    expect(looksLikeAddressInUse('FATAL:  could not create lock file')).toBe(false);
  });

  it('waitForTcp resolves once a listener accepts, and times out otherwise', async () => {
    const port = await occupy();
    await waitForTcp(port);
    const nobody = await freePort();
    await expect(waitForTcp(nobody, '127.0.0.1', 300)).rejects.toThrow(/did not accept connections within 300 ms/);
  });
});
