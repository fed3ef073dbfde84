// Installs the transport in a database: its migrations (canon, subjects, publish, journal, publication) and
// the relay's replication slot. The slot must exist before the first publish meant to reach JetStream —
// logical decoding only sees what was written after the slot — so every starter calls this first.
import type pg from 'pg';
import { ensureRelaySlot } from './relay/slot.ts';
import { migrate, TRANSPORT_MIGRATIONS } from './sql/migrate.ts';

export const RELAY_SLOT_DEFAULT = 'nimmer_relay';

export async function installTransport(client: pg.ClientBase, slotName = RELAY_SLOT_DEFAULT): Promise<string[]> {
  const applied = await migrate(client, TRANSPORT_MIGRATIONS);
  await ensureRelaySlot(client, slotName);
  return applied;
}
