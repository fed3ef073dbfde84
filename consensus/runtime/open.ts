// Opening a runtime node: recover the WAL from the data dir, then start ticking and listening.
import path from 'node:path';
import { Wal } from '../wal/index.ts';
import type { WalOptionsInput } from '../wal/index.ts';
import { RaftNode } from './node.ts';
import type { RuntimeOptions } from './options.ts';
import { nodePhase } from './options.ts';

/** Zeros kept ahead of the WAL's write position: fdatasync then rarely updates the file size. */
const WAL_PREALLOCATE_BYTES = 8 * 1024 * 1024;

export async function openRaftNode(options: RuntimeOptions & { wal?: WalOptionsInput }): Promise<RaftNode> {
  const { wal: walOptions, ...runtimeOptions } = options;
  // Replicas of a group write nearly the same bytes: without a phase per node, all three bench
  // replicas zero-filled within 3 ms of each other, and each fdatasync then took ~120 ms.
  const preallocatePhase = nodePhase(options.nodeId);
  const { wal, recovered } = await Wal.open(path.join(options.dataDir, 'raft-wal'), { preallocateBytes: WAL_PREALLOCATE_BYTES, preallocatePhase, ...walOptions });
  const node = new RaftNode(runtimeOptions, wal, recovered);
  try {
    await node.start();
  } catch (e) {
    await wal.close();
    throw e;
  }
  return node;
}
