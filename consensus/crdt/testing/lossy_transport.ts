// A CrdtTransport wrapper for tests: loses, repeats and reorders (delays) outgoing messages with a
// seeded PRNG, over a real transport underneath. `cut` drops everything (a partition).
import { seededRandom } from '../../raft/index.ts';
import type { CrdtTransport } from '../transport.ts';

export interface Faults {
  lossRate: number;
  duplicateRate: number;
  /** Share of messages held back by 1..maxDelayMs (so later ones overtake them). */
  reorderRate: number;
  maxDelayMs: number;
}

export const NO_FAULTS: Faults = { lossRate: 0, duplicateRate: 0, reorderRate: 0, maxDelayMs: 0 };

/** The seeded PRNG the Raft core uses (mulberry32). */
export const prng = seededRandom;

export class LossyTransport implements CrdtTransport {
  faults: Faults = NO_FAULTS;
  cut = false;
  readonly counts = { sent: 0, lost: 0, duplicated: 0, delayed: 0 };
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly random: () => number;

  constructor(
    private readonly inner: CrdtTransport,
    seed: number,
  ) {
    this.random = prng(seed);
  }

  publish(subject: string, data: Uint8Array): void {
    this.counts.sent++;
    if (this.cut || this.random() < this.faults.lossRate) {
      this.counts.lost++;
      return;
    }
    const copies = this.random() < this.faults.duplicateRate ? 2 : 1;
    if (copies === 2) this.counts.duplicated++;
    for (let i = 0; i < copies; i++) {
      if (this.random() < this.faults.reorderRate) {
        this.counts.delayed++;
        const copy = new Uint8Array(data);
        const t = setTimeout(() => {
          this.timers.delete(t);
          if (!this.cut) this.inner.publish(subject, copy);
        }, 1 + Math.floor(this.random() * this.faults.maxDelayMs));
        this.timers.add(t);
      } else this.inner.publish(subject, data);
    }
  }

  subscribe(subject: string, onMessage: (data: Uint8Array) => void): void {
    this.inner.subscribe(subject, (data) => {
      if (!this.cut) onMessage(data);
    });
  }

  connected(): boolean {
    return !this.cut && this.inner.connected();
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    await this.inner.close();
  }
}
