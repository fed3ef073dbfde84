// A TCP fault proxy for one directed link (whoever dials → the listener it dials): it listens on
// its own port and relays each connection to the target, applying per-direction toxics ('up' is
// dialer → target, 'down' the replies). A cut stalls bytes instead of dropping them, the way TCP
// over a partitioned network does: connections stay open, endpoints notice only by their own
// timeouts, and a connection both ends kept resumes intact at heal. A connection opened during a
// cut of 'up' is accepted but not relayed (the SYN "does not get through") until the cut ends.
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { Pump, type PumpLimits } from './pump.ts';
import { NO_TOXICS, sameToxics, type StreamToxics } from './toxics.ts';

export interface Address {
  host: string;
  port: number;
}

export type Direction = 'up' | 'down';

export interface LinkProxyOptions {
  /** For logs and stats, e.g. `n1→n2`. */
  name: string;
  host: string;
  /** Preferred port (the one from the previous run); any free port when 0 or taken. */
  port: number;
  /** Where connections go; null while not known yet (connections are then refused with a reset). */
  target: () => Address | null;
  random: () => number;
  /** Open connections kept; the oldest is reset beyond this (endpoints that redial through a cut pile them up). */
  connectionsMax?: number;
  queueBytesMax?: number;
  sliceBytesMax?: number;
}

export interface LinkProxyStats {
  name: string;
  port: number;
  connections: number;
  accepted: number;
  resets: number;
  bytesUp: number;
  bytesDown: number;
}

const CONNECTIONS_MAX_DEFAULT = 64;
const QUEUE_BYTES_MAX_DEFAULT = 4 * 1024 * 1024;
const SLICE_BYTES_MAX_DEFAULT = 4 * 1024;

class ProxiedConnection {
  server: net.Socket | null = null;
  readonly up: Pump;
  down: Pump | null = null;
  private resetTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly client: net.Socket,
    private readonly owner: LinkProxy,
    private readonly limits: PumpLimits,
  ) {
    client.setNoDelay(true);
    client.on('error', () => undefined);
    this.up = new Pump(client, () => owner.toxicsOf('up'), owner.random, limits, performance.now.bind(performance));
    client.on('close', () => this.onSocketClosed());
  }

  /** Dials the target once 'up' is not cut. */
  refresh(): void {
    if (this.server === null && !this.client.destroyed && !this.owner.toxicsOf('up').cut) this.dial();
    this.up.refresh();
    this.down?.refresh();
  }

  resetAfter(ms: number | null): void {
    if (this.resetTimer !== null) clearTimeout(this.resetTimer);
    this.resetTimer = ms === null ? null : setTimeout(() => this.reset(), ms);
  }

  reset(): void {
    if (this.resetTimer !== null) clearTimeout(this.resetTimer);
    this.resetTimer = null;
    this.up.stop();
    this.down?.stop();
    if (!this.client.destroyed) this.client.resetAndDestroy();
    if (this.server !== null && !this.server.destroyed) this.server.resetAndDestroy();
  }

  get bytesUp(): number {
    return this.up.bytes;
  }

  get bytesDown(): number {
    return this.down?.bytes ?? 0;
  }

  private dial(): void {
    const target = this.owner.currentTarget();
    if (target === null) {
      this.reset();
      return;
    }
    const server = net.connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true });
    this.server = server;
    server.on('error', () => undefined);
    this.down = new Pump(server, () => this.owner.toxicsOf('down'), this.owner.random, this.limits, performance.now.bind(performance));
    this.down.attachSink(this.client);
    server.on('connect', () => this.up.attachSink(server));
    server.on('close', () => this.onSocketClosed());
  }

  private onSocketClosed(): void {
    if (!this.client.destroyed || (this.server !== null && !this.server.destroyed)) return;
    if (this.resetTimer !== null) clearTimeout(this.resetTimer);
    this.up.stop();
    this.down?.stop();
    this.owner.forget(this);
  }
}

export class LinkProxy {
  private readonly server: net.Server;
  private readonly connections = new Set<ProxiedConnection>();
  private readonly toxics: Record<Direction, StreamToxics> = { up: NO_TOXICS, down: NO_TOXICS };
  private resetAfterMs: number | null = null;
  private counters = { accepted: 0, resets: 0, bytesUpClosed: 0, bytesDownClosed: 0 };
  private readonly limits: PumpLimits;
  private closed = false;
  readonly name: string;
  readonly random: () => number;
  port = 0;

  private constructor(private readonly options: LinkProxyOptions) {
    this.name = options.name;
    this.random = options.random;
    this.limits = {
      queueBytesMax: options.queueBytesMax ?? QUEUE_BYTES_MAX_DEFAULT,
      sliceBytesMax: options.sliceBytesMax ?? SLICE_BYTES_MAX_DEFAULT,
    };
    this.server = net.createServer({ allowHalfOpen: true, pauseOnConnect: false }, (socket) => this.accept(socket));
  }

  /** Listens on the preferred port when it is free, else on any free port. */
  static async open(options: LinkProxyOptions): Promise<LinkProxy> {
    const proxy = new LinkProxy(options);
    try {
      await proxy.listen(options.port);
    } catch (e) {
      if (options.port === 0 || (e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
      await proxy.listen(0);
    }
    return proxy;
  }

  currentTarget(): Address | null {
    return this.options.target();
  }

  toxicsOf(direction: Direction): StreamToxics {
    return this.toxics[direction];
  }

  setToxics(direction: Direction, toxics: StreamToxics): void {
    if (sameToxics(this.toxics[direction], toxics)) return;
    this.toxics[direction] = { ...toxics };
    for (const c of this.connections) c.refresh();
  }

  /** Resets (RST) every open connection now; returns how many. */
  reset(): number {
    const n = this.connections.size;
    for (const c of [...this.connections]) c.reset();
    this.counters.resets += n;
    return n;
  }

  /** Resets every connection `ms` after it opens (open ones: `ms` from now); null stops it. */
  setResetAfterMs(ms: number | null): void {
    if (ms === this.resetAfterMs) return;
    this.resetAfterMs = ms;
    for (const c of this.connections) c.resetAfter(ms);
  }

  stats(): LinkProxyStats {
    let bytesUp = this.counters.bytesUpClosed;
    let bytesDown = this.counters.bytesDownClosed;
    for (const c of this.connections) {
      bytesUp += c.bytesUp;
      bytesDown += c.bytesDown;
    }
    return { name: this.name, port: this.port, connections: this.connections.size, accepted: this.counters.accepted, resets: this.counters.resets, bytesUp, bytesDown };
  }

  forget(c: ProxiedConnection): void {
    if (!this.connections.delete(c)) return;
    this.counters.bytesUpClosed += c.bytesUp;
    this.counters.bytesDownClosed += c.bytesDown;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const done = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of [...this.connections]) c.reset();
    await done;
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      this.server.once('error', onError);
      this.server.listen({ port, host: this.options.host, exclusive: true }, () => {
        this.server.off('error', onError);
        const address = this.server.address();
        if (typeof address !== 'object' || address === null) throw new Error('assertion: a TCP server has an address');
        this.port = address.port;
        resolve();
      });
    });
  }

  private accept(socket: net.Socket): void {
    if (this.closed) {
      socket.resetAndDestroy();
      return;
    }
    this.counters.accepted += 1;
    const connectionsMax = this.options.connectionsMax ?? CONNECTIONS_MAX_DEFAULT;
    if (this.connections.size >= connectionsMax) {
      const oldest = this.connections.values().next().value;
      if (oldest !== undefined) {
        oldest.reset();
        this.counters.resets += 1;
      }
    }
    const c = new ProxiedConnection(socket, this, this.limits);
    this.connections.add(c);
    c.resetAfter(this.resetAfterMs);
    c.refresh();
  }
}
