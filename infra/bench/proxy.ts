// `nimmer bench proxy`: what an idle fault proxy adds. Ping-pong round trips of small messages
// (one in flight, as Raft heartbeats and their replies are) directly to an echo server and through
// a LinkProxy with no fault active, each in its own process; rounds alternate so machine load
// hits both alike. Also bulk throughput both ways. Reports p50/p99/mean and the difference.
import { mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { forkTs, ipcRequest } from '../proc/spawn_ts.ts';

const WORKER = fileURLToPath(new URL('./proxy_worker.ts', import.meta.url));

export interface ProxyBenchOptions {
  roundTrips: number;
  rounds: number;
  messageBytes: number;
  bulkBytes: number;
  out?: string;
}

interface Summary {
  p50Us: number;
  p99Us: number;
  meanUs: number;
  samples: number;
}

function summarise(samplesUs: number[]): Summary {
  const sorted = [...samplesUs].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const mean = sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length);
  return { p50Us: round(at(0.5)), p99Us: round(at(0.99)), meanUs: round(mean), samples: sorted.length };
}

const round = (x: number) => Math.round(x * 10) / 10;

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, noDelay: true });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** `count` round trips of one message each, one in flight; returns each RTT in µs. */
async function pingPong(port: number, count: number, messageBytes: number): Promise<number[]> {
  const socket = await connect(port);
  const message = Buffer.alloc(messageBytes, 0x61);
  const samples: number[] = [];
  await new Promise<void>((resolve, reject) => {
    let got = 0;
    let sentAt = process.hrtime.bigint();
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      got += chunk.length;
      if (got < messageBytes) return;
      got -= messageBytes;
      samples.push(Number(process.hrtime.bigint() - sentAt) / 1000);
      if (samples.length >= count) return resolve();
      sentAt = process.hrtime.bigint();
      socket.write(message);
    });
    socket.write(message);
  });
  socket.destroy();
  return samples;
}

/** Sends `bytes` and waits for them all to come back; MB/s of echoed payload. */
async function bulk(port: number, bytes: number): Promise<number> {
  const socket = await connect(port);
  const chunk = Buffer.alloc(64 * 1024, 0x62);
  const started = process.hrtime.bigint();
  await new Promise<void>((resolve, reject) => {
    let received = 0;
    let sent = 0;
    socket.on('error', reject);
    socket.on('data', (c: Buffer) => {
      received += c.length;
      if (received >= bytes) resolve();
    });
    const pump = () => {
      while (sent < bytes) {
        sent += chunk.length;
        if (!socket.write(chunk)) return socket.once('drain', pump);
      }
    };
    pump();
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  socket.destroy();
  return round(bytes / 1e6 / seconds);
}

export async function runProxyBench(o: ProxyBenchOptions): Promise<void> {
  const echoChild = forkTs(WORKER);
  const proxyChild = forkTs(WORKER);
  try {
    const echoPort = await ipcRequest<number>(echoChild, { cmd: 'echo' });
    const proxyPort = await ipcRequest<number>(proxyChild, { cmd: 'proxy', port: echoPort });
    const direct: number[] = [];
    const proxied: number[] = [];
    // Warm-up (JIT, TCP buffers), not counted.
    await pingPong(echoPort, 2000, o.messageBytes);
    await pingPong(proxyPort, 2000, o.messageBytes);
    for (let r = 0; r < o.rounds; r++) {
      const perRound = Math.ceil(o.roundTrips / o.rounds);
      direct.push(...(await pingPong(echoPort, perRound, o.messageBytes)));
      proxied.push(...(await pingPong(proxyPort, perRound, o.messageBytes)));
      process.stdout.write(`round ${r + 1}/${o.rounds}\r`);
    }
    const d = summarise(direct);
    const p = summarise(proxied);
    const bulkDirect = await bulk(echoPort, o.bulkBytes);
    const bulkProxied = await bulk(proxyPort, o.bulkBytes);
    const report = {
      bench: 'proxy',
      at: new Date().toISOString(),
      note: 'measured on a shared machine (other work running); compare the two columns of one run, not runs',
      options: o,
      direct: d,
      proxied: p,
      addedUs: { p50: round(p.p50Us - d.p50Us), p99: round(p.p99Us - d.p99Us), mean: round(p.meanUs - d.meanUs) },
      ratio: { p50: round(p.p50Us / d.p50Us), mean: round(p.meanUs / d.meanUs) },
      bulkMBps: { direct: bulkDirect, proxied: bulkProxied, ratio: round(bulkProxied / bulkDirect) },
    };
    console.log(
      [
        `round trips of ${o.messageBytes} B, one in flight, ${d.samples} each (machine shared with other work):`,
        `  direct        p50 ${d.p50Us} µs   p99 ${d.p99Us} µs   mean ${d.meanUs} µs`,
        `  through proxy p50 ${p.p50Us} µs   p99 ${p.p99Us} µs   mean ${p.meanUs} µs`,
        `  added by an idle proxy: p50 ${report.addedUs.p50} µs, mean ${report.addedUs.mean} µs (ratio p50 ${report.ratio.p50}×); budget 200 µs`,
        `bulk echo of ${o.bulkBytes / 1e6} MB: direct ${bulkDirect} MB/s, through proxy ${bulkProxied} MB/s (${report.bulkMBps.ratio}×)`,
      ].join('\n'),
    );
    if (o.out !== undefined) {
      await mkdir(path.dirname(o.out), { recursive: true });
      await writeFile(o.out, `${JSON.stringify(report, null, 2)}\n`);
      console.log(`report: ${o.out}`);
    }
  } finally {
    echoChild.kill();
    proxyChild.kill();
  }
}
