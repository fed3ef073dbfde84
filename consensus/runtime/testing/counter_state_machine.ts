// A minimal deterministic state machine for runtime tests and benchmarks: counts commands and
// keeps a running checksum (CRC-32C) of their bytes, so replicas can be compared after a run.
import { crc32c } from '../../codec/index.ts';
import type { AppliedCommand, StateMachine } from '../state_machine.ts';

export class CounterStateMachine implements StateMachine<number> {
  count = 0;
  checksum = 0;
  lastIndex = 0;
  /** Every applied payload as text, when recording (tests only; unbounded by design there). */
  readonly log: string[] | undefined;

  constructor(record = false) {
    this.log = record ? [] : undefined;
  }

  apply(cmd: AppliedCommand): number {
    this.count++;
    this.checksum = crc32c(cmd.data, 0, cmd.data.byteLength, this.checksum);
    this.lastIndex = cmd.index;
    this.log?.push(new TextDecoder().decode(cmd.data));
    return this.count;
  }

  snapshot(): Uint8Array {
    const body = JSON.stringify({ count: this.count, checksum: this.checksum, lastIndex: this.lastIndex, log: this.log });
    return new TextEncoder().encode(body);
  }

  restore(data: Uint8Array): void {
    if (data.byteLength === 0) {
      this.count = 0;
      this.checksum = 0;
      this.lastIndex = 0;
      if (this.log) this.log.length = 0;
      return;
    }
    const o = JSON.parse(new TextDecoder().decode(data)) as { count: number; checksum: number; lastIndex: number; log?: string[] };
    this.count = o.count;
    this.checksum = o.checksum;
    this.lastIndex = o.lastIndex;
    if (this.log) {
      this.log.length = 0;
      for (const s of o.log ?? []) this.log.push(s);
    }
  }
}
