// Helpers of the nimmer up pipeline tests. until: polls `attempt` until it returns a value (a thrown error counts as "not yet"); fails after timeoutMs.
export async function until<T>(what: string, timeoutMs: number, attempt: () => Promise<T | undefined>, pollMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await attempt().catch(() => undefined);
    if (r !== undefined) return r;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, pollMs));
  }
}

export type Equilibrium = { axes: Record<string, { value: number }> };

/** A shard's equilibrium through the controller (retried while the shard elects its leader). */
export function equilibriumOf(url: string, shardId: string): Promise<Equilibrium> {
  return until('the equilibrium', 60_000, async () => {
    const res = await fetch(`${url}/shards/${shardId}/equilibrium`);
    return res.status === 200 ? ((await res.json()) as Equilibrium) : undefined;
  });
}

/** Some axis changed between the two readings. */
export function equilibriumMoved(before: Equilibrium, after: Equilibrium): boolean {
  return Object.keys(after.axes).some((a) => after.axes[a]!.value !== before.axes[a]?.value);
}
