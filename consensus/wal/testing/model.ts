// An independent, deliberately simple model of what the WAL must recover, for comparing against.

import type { Entry, HardState, Snapshot } from '../../raft/types.ts';
import type { RecoveredGroup, WalUpdate } from '../wal.ts';

export interface ModelGroup {
  hardState: HardState;
  snapshot: Snapshot | undefined;
  entries: Entry[];
}

export class WalModel {
  groups = new Map<number, ModelGroup>();

  private group(groupId: number): ModelGroup {
    let g = this.groups.get(groupId);
    if (g === undefined) {
      g = { hardState: { term: 0, vote: 0, commit: 0 }, snapshot: undefined, entries: [] };
      this.groups.set(groupId, g);
    }
    return g;
  }

  /** The update split in the order its records are written: snapshot, entries, hard state. */
  static steps(update: WalUpdate): WalUpdate[] {
    const steps: WalUpdate[] = [];
    if (update.snapshot) steps.push({ snapshot: update.snapshot });
    if (update.entries && update.entries.length > 0) steps.push({ entries: update.entries });
    if (update.hardState) steps.push({ hardState: update.hardState });
    return steps;
  }

  apply(groupId: number, update: WalUpdate): void {
    const existing = this.groups.get(groupId);
    const hs = update.hardState;
    const nothing = !update.snapshot && !(update.entries && update.entries.length > 0) && !(hs && (hs.term || hs.vote || hs.commit));
    if (existing === undefined && nothing) return;
    const g = this.group(groupId);
    if (update.snapshot) {
      const { index, term } = update.snapshot.metadata;
      const snapIndex = g.snapshot?.metadata.index ?? 0;
      const termAtIndex = index === snapIndex && g.snapshot ? g.snapshot.metadata.term : g.entries.find((e) => e.index === index)?.term;
      g.entries = termAtIndex === term ? g.entries.filter((e) => e.index > index) : [];
      g.snapshot = update.snapshot;
    }
    if (update.entries && update.entries.length > 0) {
      const snapIndex = g.snapshot?.metadata.index ?? 0;
      const fresh = update.entries.filter((e) => e.index > snapIndex);
      if (fresh.length > 0) g.entries = [...g.entries.filter((e) => e.index < fresh[0].index), ...fresh];
    }
    if (hs) g.hardState = { ...hs };
  }

  remove(groupId: number): void {
    this.groups.delete(groupId);
  }

  lastIndex(groupId: number): number {
    const g = this.groups.get(groupId);
    if (!g) return 0;
    return g.entries.length > 0 ? g.entries[g.entries.length - 1].index : (g.snapshot?.metadata.index ?? 0);
  }

  termAt(groupId: number, index: number): number | undefined {
    const g = this.groups.get(groupId);
    if (!g) return index === 0 ? 0 : undefined;
    if (g.snapshot && g.snapshot.metadata.index === index) return g.snapshot.metadata.term;
    if (index === 0) return 0;
    return g.entries.find((e) => e.index === index)?.term;
  }

  /** A canonical text of the state, to compare recoveries cheaply. */
  digest(): string {
    return digestGroups([...this.groups].map(([id, g]) => [id, { hardState: g.hardState, snapshot: g.snapshot, entries: g.entries }]));
  }
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export function digestGroups(groups: Iterable<[number, { hardState: HardState; snapshot?: Snapshot | undefined; entries: Entry[] }]>): string {
  const sorted = [...groups].sort((a, b) => a[0] - b[0]);
  return sorted
    .map(([id, g]) => {
      const hs = `${g.hardState.term}/${g.hardState.vote}/${g.hardState.commit}`;
      const snap = g.snapshot ? `${g.snapshot.metadata.term}-${g.snapshot.metadata.index}:${JSON.stringify(g.snapshot.metadata.confState)}:${hex(g.snapshot.data)}` : '-';
      const entries = g.entries.map((e) => `${e.index}.${e.term}.${e.type === 'normal' ? 'n' : 'c'}.${hex(e.data)}`).join(',');
      return `g${id}{hs=${hs} snap=${snap} entries=[${entries}]}`;
    })
    .join('\n');
}

export function digestRecovered(recovered: Map<number, RecoveredGroup>): string {
  return digestGroups(recovered);
}
