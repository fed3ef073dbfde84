// What a replica needs from the network: fire-and-forget publish and subject subscriptions, with
// no delivery promise at all (core NATS semantics). Tests wrap it to lose, repeat and reorder.
export interface CrdtTransport {
  publish(subject: string, data: Uint8Array): void;
  subscribe(subject: string, onMessage: (data: Uint8Array) => void): void;
  /** True while connected to the messaging system (for health and freshness reports). */
  connected(): boolean;
  close(): Promise<void>;
}

/** No network: the replica still accepts writes and serves its own state (eventual state degraded). */
export class DetachedTransport implements CrdtTransport {
  publish(): void {}
  subscribe(): void {}
  connected(): boolean {
    return false;
  }
  async close(): Promise<void> {}
}
