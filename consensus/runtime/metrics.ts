// Counters of the runtime, read by /metrics exporters and the benchmarks.

export class RuntimeMetrics {
  proposals = 0;
  /** MsgProps handed to Raft (each carries every proposal of one loop round). */
  proposalBatches = 0;
  proposalsTimedOut = 0;
  applied = 0;
  messagesSent = 0;
  messagesDropped = 0;
  messagesReceived = 0;
  framesUnknownGroup = 0;
  framesUndecodable = 0;
  framesMisaddressed = 0;
  snapshotsTaken = 0;
  /** Time to take the snapshots (state machine serialisation, synchronous in the loop), and their size. */
  snapshotMsTotal = 0;
  snapshotMsMax = 0;
  snapshotBytesLast = 0;
  snapshotsSent = 0;
  snapshotsInstalled = 0;
  quiesces = 0;
  syncs = 0;
  syncMsTotal = 0;
  syncMsMax = 0;
  groupsPerSyncTotal = 0;

  observeSync(ms: number, groups: number): void {
    this.syncs++;
    this.syncMsTotal += ms;
    if (ms > this.syncMsMax) this.syncMsMax = ms;
    this.groupsPerSyncTotal += groups;
  }

  observeSnapshot(ms: number, bytes: number): void {
    this.snapshotsTaken++;
    this.snapshotMsTotal += ms;
    if (ms > this.snapshotMsMax) this.snapshotMsMax = ms;
    this.snapshotBytesLast = bytes;
  }

  snapshot(): Record<string, number> {
    return { ...this } as unknown as Record<string, number>;
  }
}
