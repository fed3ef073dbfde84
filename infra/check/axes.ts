// The registers and accounts a workload uses are shard axes: discover them from the cluster
// (GET /catalogue, GET /shards) and set them to known values before the clients start.
import { describeAnswer, requestUntilDefinite } from './http.ts';
import type { RunContext } from './workload.ts';

export interface AxisDef {
  id: string;
  min: number;
  max: number;
}

export interface AxisRef {
  shard: string;
  axis: string;
}

export const axisKey = (a: AxisRef) => `${a.shard}/${a.axis}`;
export const axisPath = (a: AxisRef) => `/shards/${encodeURIComponent(a.shard)}/axes/${encodeURIComponent(a.axis)}`;

/** Setup and final requests retry 503/504 until this deadline. */
export const SETUP_DEADLINE_MS = 60_000;

export async function catalogueAxes(ctx: RunContext): Promise<AxisDef[]> {
  const answer = await requestUntilDefinite({ method: 'GET', url: `${ctx.controllerUrl}/catalogue`, timeoutMs: ctx.options.requestTimeoutMs }, Date.now() + SETUP_DEADLINE_MS);
  if (answer.status !== 200) throw new Error(`GET /catalogue failed: ${describeAnswer(answer)}`);
  const axes = (answer.body as { axes?: Array<{ id: string; min: number; max: number }> }).axes ?? [];
  if (axes.length === 0) throw new Error('GET /catalogue lists no axes; the check needs the cluster bootstrapped with a catalogue');
  return axes.map((a) => ({ id: a.id, min: a.min, max: a.max }));
}

export async function shardIds(controllerUrl: string, timeoutMs: number): Promise<string[]> {
  const answer = await requestUntilDefinite({ method: 'GET', url: `${controllerUrl}/shards`, timeoutMs }, Date.now() + SETUP_DEADLINE_MS);
  if (answer.status !== 200) throw new Error(`GET /shards failed: ${describeAnswer(answer)}`);
  const shards = ((answer.body as { shards?: Array<{ id: string; state?: string }> }).shards ?? []).map((s) => s.id);
  if (shards.length === 0) throw new Error('GET /shards lists no shards; is the cluster bootstrapped?');
  return shards;
}

/**
 * The axes a workload owns: `count` of those whose range holds [0, spanMin], after skipping the
 * first `skip` of them. Each workload skips the others' axes, so runs on one cluster never
 * write each other's registers (a late indeterminate write of one run cannot touch the next).
 */
export function axesWithRoom(axes: readonly AxisDef[], spanMin: number, count: number, skip: number): AxisDef[] {
  const fit = axes.filter((a) => a.min <= 0 && a.max >= spanMin);
  if (fit.length < skip + count) {
    throw new Error(`the catalogue has ${fit.length} axes spanning 0..${spanMin}, the workload needs ${count} after the ${skip} other workloads use; load a catalogue with more axes`);
  }
  return fit.slice(skip, skip + count);
}

/** Which axes (in axesWithRoom order) each workload owns. */
export const AXIS_SLOTS = { register: { skip: 0, count: 3 }, bank: { skip: 3, count: 2 }, crdt: { skip: 5, count: 1 } } as const;

/** PUT an axis to a value, retrying while the cluster answers 'not now'. Idempotent: same value. */
export async function putAxisUntilDone(ctx: RunContext, ref: AxisRef, value: number): Promise<void> {
  const answer = await requestUntilDefinite(
    { method: 'PUT', url: `${ctx.controllerUrl}${axisPath(ref)}`, body: { value }, timeoutMs: ctx.options.requestTimeoutMs },
    Date.now() + SETUP_DEADLINE_MS,
  );
  if (answer.status !== 200) throw new Error(`setting ${axisKey(ref)} to ${value} failed: ${describeAnswer(answer)}`);
}

/** One shard's axis values, read linearizably (retrying while unavailable). */
export async function readShardAxes(ctx: RunContext, shard: string): Promise<Record<string, number>> {
  const answer = await requestUntilDefinite(
    { method: 'GET', url: `${ctx.controllerUrl}/shards/${encodeURIComponent(shard)}/equilibrium?consistency=linearizable`, timeoutMs: ctx.options.requestTimeoutMs },
    Date.now() + SETUP_DEADLINE_MS,
  );
  if (answer.status !== 200) throw new Error(`reading shard ${shard} failed: ${describeAnswer(answer)}`);
  return axisValues(answer.body);
}

/** `{"axes":{"order":{"value":3}}}` or `{"axes":{"order":3}}` → {order: 3}. */
export function axisValues(body: unknown): Record<string, number> {
  const axes = (body as { axes?: Record<string, unknown> } | null)?.axes ?? {};
  const out: Record<string, number> = {};
  for (const [id, v] of Object.entries(axes)) {
    const value = typeof v === 'number' ? v : (v as { value?: unknown } | null)?.value;
    if (typeof value === 'number') out[id] = value;
  }
  return out;
}
