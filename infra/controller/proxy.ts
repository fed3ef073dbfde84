// Forwarding a client request to a live node: every node serves every route and forwards to the
// shard's leader itself, so the controller only has to find a node that answers. The node's
// status and body are passed through untouched.
import type { ControlledNode } from './backend.ts';
import { ControllerError, indeterminate, unavailable } from './errors.ts';
import { callNode, NodeCallError, type NodeResponse } from './node_http.ts';

const REQUEST_HEADERS = ['content-type', 'accept', 'idempotency-key'] as const;
export const RESPONSE_HEADERS = ['content-type', 'retry-after'] as const;

export interface ProxiedRequest {
  method: string;
  /** Path and query, e.g. `/shards/s-north/axes/order?consistency=stale`. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer | undefined;
}

/** Methods that change nothing: after a timeout they may be retried on another node. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export class NodeProxy {
  private nextStart = 0;

  constructor(
    private readonly nodes: () => ControlledNode[],
    private readonly timeoutMs: number,
  ) {}

  /** The candidates in order: running nodes, starting from a rotating position. */
  candidates(): ControlledNode[] {
    const running = this.nodes().filter((n) => n.state === 'running');
    if (running.length === 0) return [];
    const start = this.nextStart++ % running.length;
    return [...running.slice(start), ...running.slice(0, start)];
  }

  /**
   * Sends the request to the first node that answers. A refused connection reached nothing, so
   * the next node is tried; a write that timed out or broke mid-way may have been applied, so
   * it ends in a 504 rather than a second attempt.
   */
  async forward(req: ProxiedRequest): Promise<NodeResponse> {
    const headers: Record<string, string> = {};
    for (const name of REQUEST_HEADERS) {
      const v = req.headers[name];
      if (v !== undefined) headers[name] = Array.isArray(v) ? v.join(', ') : v;
    }
    const candidates = this.candidates();
    if (candidates.length === 0) {
      throw unavailable('no node is running (all killed, paused or stopped); heal with DELETE /faults (`nimmer fault heal`)');
    }
    const failures: string[] = [];
    for (const node of candidates) {
      try {
        return await callNode(`${node.httpUrl}${req.url}`, {
          method: req.method,
          headers,
          body: req.body !== undefined && req.body.length > 0 ? req.body : undefined,
          timeoutMs: this.timeoutMs,
        });
      } catch (e) {
        if (!(e instanceof NodeCallError)) throw e;
        failures.push(`${node.name}: ${e.message}`);
        if (e.failure !== 'not_connected' && !SAFE_METHODS.has(req.method)) {
          throw indeterminate(
            `${node.name} accepted the request but did not answer (${e.message}); it may or may not take effect — read before retrying`,
          );
        }
      }
    }
    throw new ControllerError(503, 'unavailable', `no node answered: ${failures.join('; ')}`, { failures }, 1);
  }
}
