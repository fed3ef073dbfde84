// Shared by the node's route files: the runtime's failures in the API's 503/504 terms, a
// linearizable read barrier, and a shard lookup that catches up with the meta group before a 404.
import { IndeterminateError, UnavailableError, UnknownGroupError } from '../../consensus/runtime/index.ts';
import type { ShardRecord } from '../index.ts';
import { indeterminate, notFound, unavailable } from '../http/errors.ts';
import { META_GROUP_ID, type GmNode } from './gm_node.ts';

/** Maps runtime failures to the 503/504 distinction. */
export function runtimeError(e: unknown): never {
  if (e instanceof UnavailableError) throw unavailable(e.message, Math.max(1, Math.ceil(e.retryAfterMs / 1000)));
  if (e instanceof IndeterminateError) throw indeterminate(e.message);
  if (e instanceof UnknownGroupError) throw unavailable(`${e.message}; retry shortly`);
  throw e;
}

export async function readBarrier(node: GmNode, groupId: number): Promise<void> {
  try {
    await node.raft.readIndex(groupId);
  } catch (e) {
    runtimeError(e);
  }
}

export async function shardRecordOf(node: GmNode, id: string): Promise<ShardRecord> {
  let s = node.meta.shardView(id);
  if (!s) {
    // This replica of the meta group may lag (a shard just created through another node): catch
    // up before answering that the shard does not exist.
    await readBarrier(node, META_GROUP_ID);
    s = node.meta.shardView(id);
  }
  if (!s) throw notFound(`no shard '${id}'; GET /shards lists them`);
  return s;
}
