// The fault proxy over real sockets: a TCP echo server behind it, a client in front.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LinkProxy } from './link_proxy.ts';
import { NO_TOXICS, type StreamToxics } from './toxics.ts';
import { connect as connectTo, echoServer as echoOn, type Closeable } from './testing/sockets.ts';
import { seededRandom } from '../../consensus/raft/index.ts';

const open: Closeable[] = [];
const echoServer = () => echoOn(open);
const connect = (port: number) => connectTo(open, port);
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function proxyTo(port: number, seed = 1): Promise<LinkProxy> {
  const proxy = await LinkProxy.open({ name: 'test', host: '127.0.0.1', port: 0, target: () => ({ host: '127.0.0.1', port }), random: seededRandom(seed) });
  open.push(proxy);
  return proxy;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const toxics = (t: Partial<StreamToxics>): StreamToxics => ({ ...NO_TOXICS, ...t });

describe('LinkProxy', () => {
  it('relays bytes both ways and half-closes like the endpoints do', async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port);
    const c = await connect(proxy.port);
    const payload = Buffer.alloc(256 * 1024, 7);
    c.socket.write(payload);
    expect((await c.waitFor(payload.length)).equals(payload)).toBe(true);
    c.socket.end();
    expect((await c.closed).error).toBeNull();
    expect(proxy.stats()).toMatchObject({ accepted: 1, bytesUp: payload.length, bytesDown: payload.length });
  });

  it('cut stalls bytes without closing the connection, and resumes it intact at heal', async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port);
    const c = await connect(proxy.port);
    c.socket.write('before');
    await c.waitFor(6);
    proxy.setToxics('up', toxics({ cut: true }));
    proxy.setToxics('down', toxics({ cut: true }));
    c.socket.write('during');
    await sleep(200);
    expect(echo.received().toString()).toBe('before');
    expect(c.socket.destroyed).toBe(false);
    // A connection opened during the cut is accepted but never reaches the server.
    const late = await connect(proxy.port);
    late.socket.write('late');
    await sleep(100);
    expect(echo.connections()).toBe(1);
    proxy.setToxics('up', NO_TOXICS);
    proxy.setToxics('down', NO_TOXICS);
    expect((await c.waitFor(12)).toString()).toBe('beforeduring');
    expect((await late.waitFor(4)).toString()).toBe('late');
    expect(echo.connections()).toBe(2);
  });

  it('a one-way cut stops one direction only', async () => {
    // The server speaks first here (like NATS' INFO): a greeting, then whatever it is sent.
    const received: string[] = [];
    const server = net.createServer((s) => {
      s.on('error', () => undefined);
      s.write('hello');
      s.on('data', (d: Buffer) => received.push(d.toString()));
      const timer = setInterval(() => s.write('.'), 20);
      s.on('close', () => clearInterval(timer));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    open.push({ close: () => new Promise((r) => { server.close(r); server.unref(); }) });
    const proxy = await proxyTo((server.address() as net.AddressInfo).port);
    proxy.setToxics('up', toxics({ cut: true }));
    const c = await connect(proxy.port);
    // 'up' is cut: the proxy does not even dial.
    await sleep(100);
    expect(c.received().length).toBe(0);
    proxy.setToxics('up', NO_TOXICS);
    await c.waitFor(5);
    proxy.setToxics('up', toxics({ cut: true }));
    c.socket.write('lost?');
    const before = c.received().length;
    await sleep(200);
    expect(c.received().length).toBeGreaterThan(before); // server → client still flows
    expect(received).toEqual([]);
    proxy.setToxics('up', NO_TOXICS);
    await sleep(100);
    expect(received.join('')).toBe('lost?');
    c.socket.destroy();
  });

  it('adds the configured latency with jitter and keeps the byte order', async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port, 42);
    const c = await connect(proxy.port);
    proxy.setToxics('up', toxics({ latencyMs: 60, jitterMs: 40 }));
    const t0 = performance.now();
    c.socket.write('x');
    await c.waitFor(1);
    const rttMs = performance.now() - t0;
    expect(rttMs).toBeGreaterThanOrEqual(20); // 60 - 40 at the least
    // 200 small writes with ±40 ms jitter each still arrive in order.
    const sequence = Array.from({ length: 200 }, (_, i) => `${String(i).padStart(3, '0')};`).join('');
    for (let i = 0; i < 200; i++) c.socket.write(`${String(i).padStart(3, '0')};`);
    expect((await c.waitFor(1 + sequence.length)).toString()).toBe(`x${sequence}`);
    proxy.setToxics('up', toxics({ latencyMs: 150 }));
    proxy.setToxics('down', toxics({ latencyMs: 150 }));
    const t1 = performance.now();
    c.socket.write('y');
    await c.waitFor(2 + sequence.length);
    expect(performance.now() - t1).toBeGreaterThanOrEqual(295);
  });

  it('limits bandwidth', async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port);
    proxy.setToxics('down', toxics({ bytesPerSecond: 200_000 }));
    const c = await connect(proxy.port);
    const t0 = performance.now();
    c.socket.write(Buffer.alloc(100_000, 1));
    await c.waitFor(100_000);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(450); // 100 KB at 200 KB/s
  });

  it('reset sends RST to both ends; resetAfterMs resets each new connection', async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port);
    const c = await connect(proxy.port);
    c.socket.write('a');
    await c.waitFor(1);
    expect(proxy.reset()).toBe(1);
    expect((await c.closed).error).toBe('ECONNRESET');
    proxy.setResetAfterMs(50);
    const d = await connect(proxy.port);
    expect((await d.closed).error).toBe('ECONNRESET');
    proxy.setResetAfterMs(null);
    const e = await connect(proxy.port);
    e.socket.write('b');
    await e.waitFor(1);
  });

  it('a target that refuses resets the client; the preferred port is reused when free', async () => {
    const echo = await echoServer();
    const port = echo.port;
    await new Promise((r) => echo.server.close(r));
    const proxy = await proxyTo(port);
    const c = await connect(proxy.port);
    expect((await c.closed).error).toBe('ECONNRESET');
    const first = proxy.port;
    await proxy.close();
    const again = await LinkProxy.open({ name: 'again', host: '127.0.0.1', port: first, target: () => null, random: seededRandom(1) });
    open.push(again);
    expect(again.port).toBe(first);
  });
});
