// Opening a runtime node: recover the WAL from the data dir, then start ticking and listening.
import path from 'node:path';
import { Wal } from '../wal/index.ts';
import type { WalOptionsInput } from '../wal/index.ts';
import { RaftNode } from './node.ts';
import type { RuntimeOptions } from './options.ts';

export async function openRaftNode(options: RuntimeOptions & { wal?: WalOptionsInput }): Promise<RaftNode> {
  const { wal: walOptions, ...runtimeOptions } = options;
  const { wal, recovered } = await Wal.open(path.join(options.dataDir, 'raft-wal'), walOptions ?? {});
  const node = new RaftNode(runtimeOptions, wal, recovered);
  try {
    await node.start();
  } catch (e) {
    await wal.close();
    throw e;
  }
  return node;
}
