// Proposes one transfer command on any shard: through this node's replica when it hosts one (the
// runtime forwards to the leader), else through a node that does (POST /internal/txn/step).
// Throws the runtime's UnavailableError (definitely not applied) or IndeterminateError.
import { IndeterminateError, UnavailableError } from '../../../consensus/runtime/index.ts';
import type { GmResult, TxCommand } from '../../index.ts';
import type { GmNode } from '../gm_node.ts';
import { askReplicas } from './peer_http.ts';

export const STEP_PATH = '/internal/txn/step';

export class ShardSteps {
  constructor(
    private readonly node: GmNode,
    private readonly timeoutMs: number,
  ) {}

  async propose(shardId: string, cmd: TxCommand): Promise<GmResult> {
    const hosted = this.node.hostedShard(shardId);
    if (hosted) return (await this.node.proposeGm(hosted, cmd)).result;
    const rec = this.node.meta.shardView(shardId);
    if (!rec) throw new UnavailableError(`shard '${shardId}' is not in this node's shard map (yet)`);
    const out = await askReplicas(this.node.config, this.node.id, rec.replicas, { method: 'POST', path: STEP_PATH, body: { shard: shardId, command: cmd }, timeoutMs: this.timeoutMs + 1000 });
    if (out.kind === 'unavailable') throw new UnavailableError(`shard ${shardId}: ${out.message}`);
    if (out.kind === 'indeterminate') throw new IndeterminateError(`shard ${shardId}: ${out.message}`);
    const { status, text, node } = out.answer;
    if (status === 504) throw new IndeterminateError(`shard ${shardId} via n${node}: ${text}`);
    if (status !== 200) throw new Error(`shard ${shardId} via n${node} refused a transfer step with ${status}: ${text.slice(0, 300)}`);
    return (JSON.parse(text) as { result: GmResult }).result;
  }
}
