// The first start of a cluster: make sure the default catalogue is loaded (the meta leader loads
// it itself; the PUT is for nodes that do not) and create the planned shards through
// the nodes' admin routes, retrying (on any node) until the meta group has a leader. Idempotent:
// each command carries a fixed Idempotency-Key, and "already exists" counts as done, so an
// interrupted bootstrap simply runs again.
import { readFile } from 'node:fs/promises';
import { defaultCatalogueUrl } from '../../catalogue/index.ts';
import { ShardMapResponseSchema } from '../controller/cluster_view.ts';
import { getNodeJson, NodeCallError, sendNodeJson } from '../controller/node_http.ts';
import type { PlannedShard } from './plan.ts';

export interface BootstrapOptions {
  /** Base URLs of the nodes that are up (asked again on each attempt). */
  nodeUrls: () => string[];
  shards: readonly PlannedShard[];
  timeoutMs: number;
  onProgress?: (message: string) => void;
}

export class BootstrapError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BootstrapError';
  }
}

const REQUEST_TIMEOUT_MS = 10_000;
const BACKOFF_MS_MIN = 100;
const BACKOFF_MS_MAX = 1_000;

type Attempt = { done: true } | { done: false; why: string };

/** Retries `attempt` on each node in turn, with backoff, until it is done or time runs out. */
async function untilDone(what: string, options: BootstrapOptions, deadline: number, attempt: (url: string) => Promise<Attempt>): Promise<void> {
  let backoffMs = BACKOFF_MS_MIN;
  let last = 'no node was up';
  for (let round = 0; ; round++) {
    const urls = options.nodeUrls();
    for (const url of urls) {
      const r = await attempt(url);
      if (r.done) return;
      last = `${url}: ${r.why}`;
    }
    if (Date.now() > deadline) {
      throw new BootstrapError(`could not ${what} within ${options.timeoutMs} ms (last answer: ${last}); see the node logs`);
    }
    if (round > 0 && round % 10 === 0) options.onProgress?.(`still trying to ${what} (${last})`);
    await new Promise((r) => setTimeout(r, backoffMs));
    backoffMs = Math.min(BACKOFF_MS_MAX, backoffMs * 2);
  }
}

/** A status the node answers while its groups elect leaders; the next attempt may succeed. */
function retryable(status: number): boolean {
  return status === 503 || status === 504 || status === 502 || status === 500 || status === 421;
}

function describe(status: number, body: unknown): string {
  const message = (body as { error?: { message?: unknown } } | undefined)?.error?.message;
  return `${status} ${typeof message === 'string' ? message : JSON.stringify(body).slice(0, 300)}`;
}

async function send(url: string, method: string, payload: unknown, idempotencyKey: string): Promise<{ status: number; body: unknown } | string> {
  try {
    return await sendNodeJson(url, method, payload, REQUEST_TIMEOUT_MS, { 'idempotency-key': idempotencyKey });
  } catch (e) {
    if (e instanceof NodeCallError) return e.message;
    throw e;
  }
}

export async function bootstrapCluster(options: BootstrapOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  const catalogue = JSON.parse(await readFile(defaultCatalogueUrl, 'utf8')) as unknown;

  options.onProgress?.('loading the default catalogue');
  await untilDone('load the catalogue', options, deadline, async (url) => {
    const current = await getNodeJson(`${url}/catalogue`, REQUEST_TIMEOUT_MS);
    if (current?.status === 200) return { done: true };
    const r = await send(`${url}/admin/catalogue`, 'PUT', { catalogue }, 'bootstrap-catalogue');
    if (typeof r === 'string') return { done: false, why: r };
    // 409: a catalogue is already loaded (an earlier, interrupted bootstrap).
    if (r.status === 200 || r.status === 201 || r.status === 409) return { done: true };
    if (retryable(r.status)) return { done: false, why: describe(r.status, r.body) };
    // The meta leader loads the default catalogue itself on a new cluster; ours, arriving second,
    // is refused as a version 1 that changes nothing.
    if ((await getNodeJson(`${url}/catalogue`, REQUEST_TIMEOUT_MS))?.status === 200) return { done: true };
    throw new BootstrapError(`PUT ${url}/admin/catalogue was refused: ${describe(r.status, r.body)}`);
  });

  for (const shard of options.shards) {
    options.onProgress?.(`creating shard ${shard.id} on ${shard.replicas.map((r) => `n${r}`).join(',')}`);
    // The node remembers each Idempotency-Key's first result, refusals included: after a
    // definite refusal the retry needs a new key; after an unknown outcome (504, no answer) it
    // must keep the old one, so that the command, if it did commit, is not applied twice.
    let generation = 0;
    await untilDone(`create shard ${shard.id}`, options, deadline, async (url) => {
      const key = `bootstrap-${shard.id}-${generation}`;
      const r = await send(`${url}/admin/shards`, 'POST', { key: shard.key, replicas: shard.replicas, id: shard.id }, key);
      if (typeof r === 'string') return { done: false, why: r };
      // 409: the key or id exists — created by an earlier run of this bootstrap.
      if (r.status === 200 || r.status === 201 || r.status === 409) return { done: true };
      // 404: a replica's node is not registered yet (the new meta leader registers every node
      // of the config right after its election). Refused and remembered: next time, a new key.
      if (r.status === 404) {
        generation += 1;
        return { done: false, why: describe(r.status, r.body) };
      }
      if (retryable(r.status)) return { done: false, why: describe(r.status, r.body) };
      throw new BootstrapError(`POST ${url}/admin/shards for ${shard.id} was refused: ${describe(r.status, r.body)}`);
    });
  }

  // A 409 could also mean a different shard holds the key: check the map has what was planned.
  await untilDone('read back the shard map', options, deadline, async (url) => {
    const r = await getNodeJson(`${url}/shards`, REQUEST_TIMEOUT_MS);
    if (r === null) return { done: false, why: 'no answer' };
    if (r.status !== 200) return { done: false, why: describe(r.status, r.body) };
    const map = ShardMapResponseSchema.safeParse(r.body);
    if (!map.success) throw new BootstrapError(`GET ${url}/shards answered an unexpected shape: ${JSON.stringify(r.body).slice(0, 300)}`);
    const missing = options.shards.filter((p) => !map.data.shards.some((s) => s.id === p.id));
    if (missing.length > 0) {
      throw new BootstrapError(
        `the shard map lacks ${missing.map((s) => s.id).join(', ')} although creating them answered 'exists'; ` +
          `the data dir holds a different cluster — use a new --data`,
      );
    }
    return { done: true };
  });
}
