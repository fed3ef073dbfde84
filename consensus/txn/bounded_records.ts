// A keyed set of records split in two: live ones (never evicted, capped by the caller's limit) and
// finished ones, kept oldest-first and evicted FIFO beyond a capacity. The order depends only on
// the sequence of operations, so every replica holds the same records.

export class BoundedRecords<R extends { readonly id: string }> {
  readonly finishedMax: number;
  private readonly live = new Map<string, R>();
  // A Map iterates in insertion order: its first key is the oldest finished record.
  private readonly finished = new Map<string, R>();

  constructor(finishedMax: number) {
    if (!Number.isSafeInteger(finishedMax) || finishedMax < 1) throw new RangeError(`finishedMax must be an integer ≥ 1, got ${finishedMax}`);
    this.finishedMax = finishedMax;
  }

  get liveCount(): number {
    return this.live.size;
  }

  get finishedCount(): number {
    return this.finished.size;
  }

  get(id: string): R | undefined {
    return this.live.get(id) ?? this.finished.get(id);
  }

  liveRecords(): R[] {
    return [...this.live.values()];
  }

  putLive(r: R): void {
    deepFreeze(r);
    if (this.finished.has(r.id)) throw new Error(`invariant: record '${r.id}' is finished; it cannot become live again`);
    this.live.set(r.id, r);
  }

  /** Moves (or adds) a record to the finished ones, evicting the oldest beyond capacity. */
  finish(r: R): void {
    deepFreeze(r);
    this.live.delete(r.id);
    if (this.finished.has(r.id)) throw new Error(`invariant: record '${r.id}' finished twice`);
    this.finished.set(r.id, r);
    while (this.finished.size > this.finishedMax) this.finished.delete(this.finished.keys().next().value as string);
  }

  toJSON(): { live: R[]; finished: R[] } {
    return { live: [...this.live.values()], finished: [...this.finished.values()] };
  }

  load(data: { live: readonly R[]; finished: readonly R[] }): void {
    this.live.clear();
    this.finished.clear();
    for (const r of data.live) this.live.set(r.id, deepFreeze(r));
    // A snapshot written with a larger capacity keeps only its newest rows.
    for (const r of data.finished.slice(Math.max(0, data.finished.length - this.finishedMax))) this.finished.set(r.id, deepFreeze(r));
    for (const id of this.live.keys()) if (this.finished.has(id)) throw new Error(`invariant: record '${id}' is both live and finished`);
  }
}

/** Records are shared, never copied (toJSON hands them out): frozen, so no holder can change one. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
