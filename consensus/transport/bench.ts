// On-demand benchmark (not part of the test suite): throughput and round-trip latency of the
// transport between two nodes on loopback, as ratios against raw TCP measured in the same run.
// Run: npx tsx consensus/transport/bench.ts [seconds per throughput run, default 3]

import net from 'node:net';
import { Transport } from './transport.ts';
import type { Frame } from './wire.ts';

const HOST = '127.0.0.1';
const PAYLOAD_BYTES = 256;
const durationMs = 1000 * Number(process.argv[2] ?? 3);
const ROUND_TRIPS = 5000;

interface Pair {
  a: Transport;
  b: Transport;
  onB: (frames: Frame[]) => void;
  onA: (frames: Frame[]) => void;
}

async function pair(): Promise<Pair> {
  const handlers: Pick<Pair, 'onA' | 'onB'> = { onA: () => {}, onB: () => {} };
  const quiet = { onLog: () => {} };
  const a = new Transport({ nodeId: 'a', listen: { host: HOST, port: 0 }, peers: {}, onFrames: (_, f) => handlers.onA(f), ...quiet });
  const b = new Transport({ nodeId: 'b', listen: { host: HOST, port: 0 }, peers: {}, onFrames: (_, f) => handlers.onB(f), ...quiet });
  await Promise.all([a.start(), b.start()]);
  a.addPeer('b', b.address());
  b.addPeer('a', a.address());
  while (!(a.stats().peers.b.connected && b.stats().peers.a.connected)) await new Promise((r) => setTimeout(r, 5));
  return Object.assign(handlers, { a, b }) as Pair;
}

const yieldTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

async function transportThroughput(): Promise<{ framesPerS: number; mbPerS: number; dropped: number; writesPerS: number }> {
  const p = await pair();
  let received = 0;
  p.onB = (frames) => {
    received += frames.length;
  };
  const payload = new Uint8Array(PAYLOAD_BYTES).fill(1);
  const queueFramesMax = p.a.limits.queueFramesMax;
  const startMs = performance.now();
  let group = 0;
  while (performance.now() - startMs < durationMs) {
    // Keep the queue half full: measure the pipe, not the drop path.
    const room = queueFramesMax / 2 - p.a.stats().peers.b.queuedFrames;
    for (let i = 0; i < room; i++) p.a.send('b', group++ & 1023, payload);
    await yieldTurn();
  }
  const elapsedS = (performance.now() - startMs) / 1000;
  const stats = p.a.stats().peers.b;
  await Promise.all([p.a.close(), p.b.close()]);
  return {
    framesPerS: received / elapsedS,
    mbPerS: (received * PAYLOAD_BYTES) / elapsedS / 1e6,
    dropped: stats.droppedFrames,
    writesPerS: stats.writes / elapsedS,
  };
}

async function rawTcpThroughput(): Promise<{ mbPerS: number }> {
  let receivedBytes = 0;
  const server = net.createServer((socket) => socket.on('data', (chunk: Buffer) => (receivedBytes += chunk.length)));
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const socket = net.connect((server.address() as net.AddressInfo).port, HOST);
  await new Promise((resolve) => socket.once('connect', resolve));
  const block = Buffer.alloc(256 * 1024, 1);
  const startMs = performance.now();
  while (performance.now() - startMs < durationMs) {
    if (!socket.write(block)) await new Promise((resolve) => socket.once('drain', resolve));
  }
  const elapsedS = (performance.now() - startMs) / 1000;
  socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return { mbPerS: receivedBytes / elapsedS / 1e6 };
}

function percentiles(samplesMs: number[]): { p50: number; p99: number } {
  const sorted = [...samplesMs].sort((x, y) => x - y);
  return { p50: sorted[Math.floor(sorted.length * 0.5)], p99: sorted[Math.floor(sorted.length * 0.99)] };
}

async function transportRoundTrip(): Promise<{ p50: number; p99: number }> {
  const p = await pair();
  p.onB = (frames) => {
    for (const frame of frames) p.b.send('a', frame.groupId, frame.payload);
  };
  const payload = new Uint8Array(PAYLOAD_BYTES);
  const samplesMs: number[] = [];
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const startMs = performance.now();
    await new Promise<void>((resolve) => {
      p.onA = () => resolve();
      p.a.send('b', 1, payload);
    });
    samplesMs.push(performance.now() - startMs);
  }
  await Promise.all([p.a.close(), p.b.close()]);
  return percentiles(samplesMs);
}

async function rawTcpRoundTrip(): Promise<{ p50: number; p99: number }> {
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => socket.write(chunk));
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const socket = net.connect((server.address() as net.AddressInfo).port, HOST);
  socket.setNoDelay(true);
  await new Promise((resolve) => socket.once('connect', resolve));
  const message = Buffer.alloc(PAYLOAD_BYTES + 16);
  const samplesMs: number[] = [];
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const startMs = performance.now();
    await new Promise<void>((resolve) => {
      let got = 0;
      const onData = (chunk: Buffer): void => {
        got += chunk.length;
        if (got < message.length) return;
        socket.off('data', onData);
        resolve();
      };
      socket.on('data', onData);
      socket.write(message);
    });
    samplesMs.push(performance.now() - startMs);
  }
  socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return percentiles(samplesMs);
}

const fmt = (n: number, digits = 1) => n.toFixed(digits);

const rawThroughput = await rawTcpThroughput();
const throughput = await transportThroughput();
const rawRtt = await rawTcpRoundTrip();
const rtt = await transportRoundTrip();

console.log(`transport bench: two nodes on loopback, ${PAYLOAD_BYTES}-byte payloads, ${durationMs / 1000} s per throughput run`);
console.log(`  raw TCP (256 KiB writes)   ${fmt(rawThroughput.mbPerS)} MB/s`);
console.log(
  `  transport                  ${fmt(throughput.framesPerS / 1000)} k frames/s, ${fmt(throughput.mbPerS)} MB/s payload ` +
    `(${fmt(throughput.mbPerS / rawThroughput.mbPerS, 3)} × raw), ${fmt(throughput.writesPerS, 0)} writes/s, ${throughput.dropped} dropped`,
);
console.log(`  raw TCP echo round trip    p50 ${fmt(rawRtt.p50, 3)} ms, p99 ${fmt(rawRtt.p99, 3)} ms`);
console.log(`  transport round trip       p50 ${fmt(rtt.p50, 3)} ms, p99 ${fmt(rtt.p99, 3)} ms`);
console.log(`  added by the transport     p50 ${fmt(rtt.p50 - rawRtt.p50, 3)} ms, p99 ${fmt(rtt.p99 - rawRtt.p99, 3)} ms (${ROUND_TRIPS} round trips)`);
