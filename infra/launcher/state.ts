// The data dir's launcher state: which ports were chosen and the cluster's shape, so that
// the next `nimmer up` on the same dir resumes the same cluster. Written atomically.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';

export const STATE_FILE_NAME = 'launcher-state.json';

const port = z.number().int().min(1).max(65_535);

export const NatsServerStateSchema = z.object({
  name: z.string().min(1),
  clientPort: port,
  /** Null for a single server (no cluster listener). */
  clusterPort: port.nullable(),
  monitorPort: port,
});
export type NatsServerState = z.infer<typeof NatsServerStateSchema>;

export const NatsModeSchema = z.enum(['local', 'local-cluster']);
export type LocalNatsMode = z.infer<typeof NatsModeSchema>;

export const PostgresStateSchema = z.object({
  port,
  /** The OS user the server runs as when the launcher is root (owner of the cluster dir). */
  osUser: z.string().min(1).optional(),
});
export type PostgresState = z.infer<typeof PostgresStateSchema>;

/** Unknown top-level sections are kept: later launcher parts add their own. */
export const LauncherStateSchema = z.looseObject({
  version: z.literal(1),
  postgres: PostgresStateSchema.optional(),
  nats: z
    .object({
      mode: NatsModeSchema,
      servers: z.array(NatsServerStateSchema).min(1).max(9),
    })
    .optional(),
});
export type LauncherState = z.infer<typeof LauncherStateSchema>;

export function emptyState(): LauncherState {
  return { version: 1 };
}

export function stateFilePath(dataDir: string): string {
  return path.join(dataDir, STATE_FILE_NAME);
}

/** The state in dataDir, or an empty one when the file does not exist yet. */
export async function readState(dataDir: string): Promise<LauncherState> {
  const file = stateFilePath(dataDir);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
    throw e;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file} is not valid JSON (${(e as Error).message}); delete it to forget the remembered ports`);
  }
  const parsed = LauncherStateSchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(
      `${file} does not match the launcher state schema: ${z.prettifyError(parsed.error)}; ` +
        'delete it to forget the remembered ports',
    );
  }
  return parsed.data;
}

/** Writes the state with write-to-temp, fsync, rename: a crash leaves the old or the new file. */
export async function writeState(dataDir: string, state: LauncherState): Promise<void> {
  const valid = LauncherStateSchema.parse(state);
  await mkdir(dataDir, { recursive: true });
  const file = stateFilePath(dataDir);
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(tmp, 'w', 0o644);
  try {
    await handle.writeFile(`${JSON.stringify(valid, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  const dir = await open(dataDir, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

// Updates within one process are serialised per file, so Postgres and NATS starting
// concurrently do not overwrite each other's section.
const updateChains = new Map<string, Promise<unknown>>();

/** Read-modify-write of the state, serialised with every other update in this process. */
export function updateState(
  dataDir: string,
  change: (state: LauncherState) => LauncherState,
): Promise<LauncherState> {
  const file = stateFilePath(path.resolve(dataDir));
  const previous = updateChains.get(file) ?? Promise.resolve();
  const next = previous
    .catch(() => undefined)
    .then(async () => {
      const updated = change(await readState(dataDir));
      await writeState(dataDir, updated);
      return updated;
    });
  updateChains.set(file, next);
  void next.finally(() => {
    if (updateChains.get(file) === next) updateChains.delete(file);
  }).catch(() => undefined);
  return next;
}
