// Which WAL position the relay may confirm to Postgres: the commit end of the newest transaction such that
// it and every transaction before it have had all their messages acknowledged by JetStream. Pure (no I/O):
// the relay feeds it the decoded stream in order and the acks as they come.
import type { Lsn } from './lsn.ts';

export interface TxnHandle {
  /** Messages published and not yet acknowledged. */
  outstanding: number;
  /** Set by commit(); null while the transaction's messages are still arriving. */
  commitEndLsn: Lsn | null;
  /** The transaction's commit time (µs since the Unix epoch), for the commit → ack latency. */
  commitTimeUs: bigint;
  messages: number;
}

export interface Completed {
  commitEndLsn: Lsn;
  commitTimeUs: bigint;
  messages: number;
}

export class AckWindow {
  private readonly txns: TxnHandle[] = [];
  private head = 0;
  private open: TxnHandle | null = null;
  private confirmedValue: Lsn;
  private inFlightValue = 0;

  constructor(confirmed: Lsn) {
    this.confirmedValue = confirmed;
  }

  /** Everything up to here is in JetStream (or was never a publish). */
  get confirmed(): Lsn {
    return this.confirmedValue;
  }

  get inFlight(): number {
    return this.inFlightValue;
  }

  /** No transaction open or awaiting acks: every position the server sent so far may be confirmed. */
  get idle(): boolean {
    return this.open === null && this.head === this.txns.length;
  }

  begin(commitTimeUs: bigint): void {
    if (this.open !== null) throw new Error('invariant: a transaction began inside another (the decoded stream is out of order)');
    this.open = { outstanding: 0, commitEndLsn: null, commitTimeUs, messages: 0 };
    this.txns.push(this.open);
  }

  /** A message of the open transaction was handed to JetStream. */
  published(): TxnHandle {
    const txn = this.open;
    if (txn === null) throw new Error('invariant: a transactional message outside a transaction');
    txn.outstanding++;
    txn.messages++;
    this.inFlightValue++;
    return txn;
  }

  /** JetStream acknowledged one message of txn; returns the transactions this completed, oldest first. */
  acked(txn: TxnHandle): Completed[] {
    if (txn.outstanding <= 0) throw new Error('invariant: an ack for a transaction with nothing outstanding');
    txn.outstanding--;
    this.inFlightValue--;
    return this.advance();
  }

  commit(commitEndLsn: Lsn): Completed[] {
    const txn = this.open;
    if (txn === null) throw new Error('invariant: a commit without a begin');
    if (commitEndLsn <= this.confirmedValue) throw new Error(`invariant: commit end ${commitEndLsn} is not after the confirmed position ${this.confirmedValue}`);
    txn.commitEndLsn = commitEndLsn;
    this.open = null;
    return this.advance();
  }

  /** A keepalive's position, confirmable only when nothing is pending (the stream is ordered). */
  keepalive(lsn: Lsn): boolean {
    if (!this.idle || lsn <= this.confirmedValue) return false;
    this.confirmedValue = lsn;
    return true;
  }

  private advance(): Completed[] {
    const done: Completed[] = [];
    while (this.head < this.txns.length) {
      const t = this.txns[this.head]!;
      if (t.commitEndLsn === null || t.outstanding > 0) break;
      if (t.commitEndLsn <= this.confirmedValue) throw new Error('invariant: commit positions must increase');
      this.confirmedValue = t.commitEndLsn;
      done.push({ commitEndLsn: t.commitEndLsn, commitTimeUs: t.commitTimeUs, messages: t.messages });
      this.head++;
    }
    // Compact now and then so the array does not grow with the transactions already confirmed.
    if (this.head > 1024 && this.head * 2 > this.txns.length) {
      this.txns.splice(0, this.head);
      this.head = 0;
    }
    return done;
  }
}
