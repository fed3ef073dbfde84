// Applies stream declarations idempotently: creates what is missing, updates editable fields that differ,
// leaves the rest alone. A RePublish rule cannot be edited on nats-server 2.9.10, nor can storage: such a
// change is refused with what to do, unless the stream is named in `recreate` (its messages are then lost;
// the journal repair re-sends what Postgres still holds).
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { DiscardPolicy, jetstreamManager, RetentionPolicy, StorageType, type StreamConfig } from '@nats-io/jetstream';
import { StreamDeclSchema, type StreamDecl, type StreamDeclInput } from './config.ts';

export type ApplyAction = 'created' | 'updated' | 'unchanged' | 'recreated';

export class StreamConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StreamConfigError';
  }
}

export function toStreamConfig(d: StreamDecl): Partial<StreamConfig> & { name: string } {
  return {
    name: d.name,
    subjects: d.subjects,
    storage: d.storage === 'file' ? StorageType.File : StorageType.Memory,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    num_replicas: d.replicas,
    max_age: nanos(d.maxAgeMs),
    max_bytes: d.maxBytes,
    duplicate_window: nanos(d.duplicateWindowMs),
    ...(d.republish ? { republish: { src: d.republish.src, dest: d.republish.dest, headers_only: d.republish.headersOnly } } : {}),
  };
}

function sameRepublish(a: StreamConfig['republish'] | undefined, b: StreamConfig['republish'] | undefined): boolean {
  if (!a || !b) return !a && !b;
  return a.src === b.src && a.dest === b.dest && Boolean(a.headers_only) === Boolean(b.headers_only);
}

const EDITABLE = ['subjects', 'max_age', 'max_bytes', 'duplicate_window', 'num_replicas'] as const;

export async function applyStreams(
  nc: NatsConnection,
  decls: readonly StreamDeclInput[],
  options: { recreate?: readonly string[] } = {},
): Promise<Array<{ name: string; action: ApplyAction }>> {
  const jsm = await jetstreamManager(nc);
  const results: Array<{ name: string; action: ApplyAction }> = [];
  for (const input of decls) {
    const want = toStreamConfig(StreamDeclSchema.parse(input));
    let have: StreamConfig | null = null;
    try {
      have = (await jsm.streams.info(want.name)).config;
    } catch (e) {
      if (!/stream not found/i.test((e as Error).message)) throw e;
    }
    if (have === null) {
      await jsm.streams.add(want);
      results.push({ name: want.name, action: 'created' });
      continue;
    }
    const fixed: string[] = [];
    if (!sameRepublish(have.republish, want.republish)) fixed.push(`republish (have ${JSON.stringify(have.republish ?? null)}, want ${JSON.stringify(want.republish ?? null)})`);
    if (have.storage !== want.storage) fixed.push(`storage (have ${have.storage}, want ${want.storage})`);
    if (fixed.length > 0) {
      if (!options.recreate?.includes(want.name)) {
        throw new StreamConfigError(
          `stream ${want.name}: ${fixed.join('; ')} cannot be changed on a live stream (nats-server 2.9.10); ` +
            `apply with recreate: ['${want.name}'] to delete and re-create it (its messages are lost), then re-send the journal with the relay's repair`,
        );
      }
      await jsm.streams.delete(want.name);
      await jsm.streams.add(want);
      results.push({ name: want.name, action: 'recreated' });
      continue;
    }
    const differs = EDITABLE.some((k) => JSON.stringify(k === 'subjects' ? [...(have[k] ?? [])].sort() : have[k]) !== JSON.stringify(k === 'subjects' ? [...(want[k] ?? [])].sort() : want[k]));
    if (!differs) {
      results.push({ name: want.name, action: 'unchanged' });
      continue;
    }
    await jsm.streams.update(want.name, { ...have, ...want });
    results.push({ name: want.name, action: 'updated' });
  }
  return results;
}
