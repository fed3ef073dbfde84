// The relay's logical replication slot. It must exist before the first publish that is to be relayed:
// messages written before it are never decoded. installTransport (transport/install.ts) creates it.
import type pg from 'pg';

export interface SlotState {
  confirmedFlushLsn: string;
  active: boolean;
  activePid: number | null;
}

export async function ensureRelaySlot(client: pg.ClientBase, slotName: string): Promise<void> {
  const existing = await client.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slotName]);
  if (existing.rowCount !== 0) return;
  try {
    await client.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [slotName]);
  } catch (e) {
    // Another relay created it at the same moment.
    if ((e as { code?: string }).code !== '42710') throw e;
  }
}

export async function readSlot(client: pg.ClientBase, slotName: string): Promise<SlotState | null> {
  const r = await client.query<{ lsn: string; active: boolean; active_pid: number | null }>(
    'SELECT confirmed_flush_lsn::text AS lsn, active, active_pid FROM pg_replication_slots WHERE slot_name = $1',
    [slotName],
  );
  const row = r.rows[0];
  return row === undefined ? null : { confirmedFlushLsn: row.lsn, active: row.active, activePid: row.active_pid };
}
