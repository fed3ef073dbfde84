// Requests from this node to the nodes hosting a shard, with the API's outcome model: a replica
// that answers 503 (or refuses the connection) has applied nothing, so the next one is tried; a
// write whose connection failed after sending may have been applied (indeterminate).
import { peerHttpUrl, type ClusterConfig } from '../config.ts';

/** The header routes.ts uses too: a request carrying it is never forwarded again. */
export const FORWARDED_HEADER = 'x-nimmer-forwarded';

export interface PeerAnswer {
  readonly status: number;
  readonly text: string;
  readonly retryAfter: string | null;
  readonly node: number;
}

export type PeerOutcome =
  | { readonly kind: 'answer'; readonly answer: PeerAnswer }
  /** Every replica answered 503 or refused the connection: nothing was applied. */
  | { readonly kind: 'unavailable'; readonly message: string; readonly retryAfter: string | null }
  /** A write may have reached a replica whose answer was lost. */
  | { readonly kind: 'indeterminate'; readonly message: string };

export async function askReplicas(
  config: ClusterConfig,
  self: number,
  replicas: readonly number[],
  req: { method: 'GET' | 'POST'; path: string; body?: unknown; timeoutMs: number },
): Promise<PeerOutcome> {
  const write = req.method !== 'GET';
  const errors: string[] = [];
  let maybeDelivered = false;
  let unavailable: PeerAnswer | undefined;
  for (const id of replicas) {
    if (id === self) continue;
    try {
      const res = await fetch(peerHttpUrl(config, self, id) + req.path, {
        method: req.method,
        headers: { 'content-type': 'application/json', [FORWARDED_HEADER]: '1' },
        body: write ? JSON.stringify(req.body ?? {}) : undefined,
        signal: AbortSignal.timeout(req.timeoutMs),
      });
      const answer: PeerAnswer = { status: res.status, text: await res.text(), retryAfter: res.headers.get('retry-after'), node: id };
      if (answer.status === 503) {
        unavailable = answer;
        continue;
      }
      return { kind: 'answer', answer };
    } catch (e) {
      const code = (e as { cause?: { code?: string } }).cause?.code ?? '';
      errors.push(`n${id}: ${(e as Error).message}${code ? ` (${code})` : ''}`);
      if (write && code !== 'ECONNREFUSED') maybeDelivered = true;
    }
  }
  if (maybeDelivered) return { kind: 'indeterminate', message: `a request to a replica failed after it may have been delivered (${errors.join('; ')})` };
  if (unavailable) return { kind: 'unavailable', message: unavailable.text, retryAfter: unavailable.retryAfter };
  return { kind: 'unavailable', message: `no replica answered (${errors.join('; ') || 'none reachable'})`, retryAfter: null };
}
