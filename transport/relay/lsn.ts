// WAL positions (LSNs): Postgres writes them as "X/Y" (two hex halves of a 64-bit byte offset). The relay
// compares them as bigints and derives each message's Nats-Msg-Id from its position.

export type Lsn = bigint;

const LSN_TEXT = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

export function parseLsn(text: string): Lsn {
  const m = LSN_TEXT.exec(text);
  if (m === null) throw new Error(`not a WAL position: "${text}" (expected X/Y in hex, e.g. 0/16B3748)`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

export function formatLsn(lsn: Lsn): string {
  if (lsn < 0n || lsn > 0xffff_ffff_ffff_ffffn) throw new Error(`WAL position out of range: ${lsn}`);
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffff_ffffn).toString(16).toUpperCase()}`;
}

/** The Nats-Msg-Id of the message at this WAL position: 16 hex digits, so ids sort like positions. */
export function msgIdOf(lsn: Lsn): string {
  return lsn.toString(16).toUpperCase().padStart(16, '0');
}

/** The WAL position a Nats-Msg-Id names, or null when it is not one of the relay's ids. */
export function lsnOfMsgId(msgId: string): Lsn | null {
  return /^[0-9A-F]{16}$/.test(msgId) ? BigInt(`0x${msgId}`) : null;
}
