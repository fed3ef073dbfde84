// CrdtTransport over core NATS. Connecting never blocks the caller: when no server answers, the
// transport keeps retrying in the background and the replica runs detached until it connects.
// Subscriptions made before the connection exists are set up once it does.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { CrdtTransport } from './transport.ts';

export interface NatsTransportOptions {
  servers: string[];
  name: string;
  /** Pause between connection attempts while no server has answered yet. */
  retryMs?: number;
  onLog?: (event: string, message: string) => void;
}

export class NatsTransport implements CrdtTransport {
  private nc: NatsConnection | undefined;
  private readonly subs: Array<{ subject: string; onMessage: (data: Uint8Array) => void }> = [];
  private closed = false;
  private isConnected = false;
  private readonly started: Promise<void>;
  publishErrors = 0;

  constructor(private readonly opts: NatsTransportOptions) {
    if (opts.servers.length === 0) throw new Error('NatsTransport needs at least one server URL (config nats / natsPerNode)');
    this.started = this.connectLoop();
  }

  private async connectLoop(): Promise<void> {
    while (!this.closed) {
      try {
        const nc = await connect({
          servers: this.opts.servers,
          name: this.opts.name,
          maxReconnectAttempts: -1,
          reconnectTimeWait: 250,
          reconnectJitter: 100,
          pingInterval: 2_000,
          maxPingOut: 2,
          timeout: 2_000,
        });
        if (this.closed) {
          await nc.close();
          return;
        }
        this.nc = nc;
        this.isConnected = true;
        for (const s of this.subs) this.attach(s.subject, s.onMessage);
        void this.watch(nc);
        return;
      } catch (e) {
        this.opts.onLog?.('connect-failed', `cannot reach NATS at ${this.opts.servers.join(',')}: ${(e as Error).message}; retrying`);
        await new Promise((r) => setTimeout(r, this.opts.retryMs ?? 1_000));
      }
    }
  }

  private async watch(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'staleConnection') this.isConnected = false;
      if (s.type === 'reconnect') this.isConnected = true;
      if (s.type === 'disconnect' || s.type === 'reconnect') this.opts.onLog?.(s.type, `NATS ${s.type}`);
    }
  }

  private attach(subject: string, onMessage: (data: Uint8Array) => void): void {
    this.nc!.subscribe(subject, { callback: (err, msg) => {
      if (!err) onMessage(msg.data);
    } });
  }

  publish(subject: string, data: Uint8Array): void {
    if (!this.nc || this.closed) return;
    try {
      this.nc.publish(subject, data);
    } catch {
      this.publishErrors++; // at-most-once: a failed publish is a lost message, which resync repairs
    }
  }

  subscribe(subject: string, onMessage: (data: Uint8Array) => void): void {
    this.subs.push({ subject, onMessage });
    if (this.nc) this.attach(subject, onMessage);
  }

  connected(): boolean {
    return this.isConnected && !!this.nc && !this.nc.isClosed();
  }

  async close(): Promise<void> {
    this.closed = true;
    const nc = this.nc;
    this.nc = undefined;
    if (nc) await nc.close().catch(() => undefined);
    await Promise.race([this.started, new Promise((r) => setTimeout(r, 100))]);
  }
}
