// `nimmer up`'s section of the launcher state file: the cluster's shape and the node ports, so a
// second `up` on the same data dir resumes the same cluster (same ports when they are free,
// no second bootstrap).
import { z } from 'zod';
import { readState, updateState } from '../launcher/index.ts';

const port = z.number().int().min(1).max(65_535);

export const UpStateSchema = z.object({
  clusterId: z.string().min(1),
  nodes: z.array(z.object({ id: z.number().int().min(1), raftPort: port, httpPort: port })).min(1),
  replicas: z.number().int().min(1),
  shards: z.array(
    z.object({
      id: z.string().min(1),
      key: z.object({ geography: z.string(), theme: z.string(), tier: z.string(), faction: z.string() }),
      replicas: z.array(z.number().int().min(1)).min(1),
    }),
  ),
  /** The catalogue is loaded and every planned shard exists in the shard map. */
  bootstrapped: z.boolean(),
  createdAt: z.string(),
});
export type UpState = z.infer<typeof UpStateSchema>;

const SECTION = 'up';

/** The stored section, or null on a fresh data dir. */
export async function readUpState(dataDir: string): Promise<UpState | null> {
  const state = await readState(dataDir);
  const raw = (state as Record<string, unknown>)[SECTION];
  if (raw === undefined) return null;
  const parsed = UpStateSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(
      `the '${SECTION}' section of ${dataDir}/launcher-state.json is damaged (${z.prettifyError(parsed.error)}); ` +
        'remove that section (or use a new --data) to start a new cluster',
    );
  }
  return parsed.data;
}

export async function writeUpState(dataDir: string, up: UpState): Promise<void> {
  const valid = UpStateSchema.parse(up);
  await updateState(dataDir, (s) => ({ ...s, [SECTION]: valid }));
}
