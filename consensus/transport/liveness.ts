// Which peers are up: a peer is up while we have heard anything from it (on any of its links)
// within peerDeadMs. Pure: the caller passes the time and performs the reported transitions.

export interface PeerLivenessState {
  lastHeardAtMs: number | null;
  up: boolean;
}

export class PeerLiveness {
  private readonly peers = new Map<string, PeerLivenessState>();

  constructor(readonly peerDeadMs: number) {
    if (!(peerDeadMs > 0)) throw new Error('assertion: peerDeadMs must be positive');
  }

  track(node: string): void {
    if (!this.peers.has(node)) this.peers.set(node, { lastHeardAtMs: null, up: false });
  }

  /** Forgets `node`; returns whether it was up (the caller reports it down). */
  untrack(node: string): boolean {
    const state = this.peers.get(node);
    this.peers.delete(node);
    return state?.up === true;
  }

  get(node: string): Readonly<PeerLivenessState> | undefined {
    return this.peers.get(node);
  }

  /** Records contact; returns true when this makes the peer go from down to up. */
  heard(node: string, nowMs: number): boolean {
    const state = this.peers.get(node);
    if (state === undefined) return false;
    state.lastHeardAtMs = nowMs;
    if (state.up) return false;
    state.up = true;
    return true;
  }

  /** Marks down every up peer silent for more than peerDeadMs; returns them. */
  sweep(nowMs: number): string[] {
    const wentDown: string[] = [];
    for (const [node, state] of this.peers) {
      if (!state.up) continue;
      if (state.lastHeardAtMs === null) throw new Error(`assertion: peer ${node} is up but never heard from`);
      if (nowMs - state.lastHeardAtMs > this.peerDeadMs) {
        state.up = false;
        wentDown.push(node);
      }
    }
    return wentDown;
  }
}
