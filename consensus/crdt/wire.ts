// What travels over NATS: heartbeats (JSON, broadcast) and sync envelopes (a small JSON header
// naming the pair stream — sessions, epoch, generation, sequence — followed by the Automerge sync
// message). Anything malformed is dropped: core NATS is at-most-once anyway, and resync repairs.
import { z } from 'zod';
import { TOKEN_PATTERN } from './options.ts';

const token = z.string().regex(new RegExp(TOKEN_PATTERN));
const session = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const HeartbeatSchema = z.strictObject({
  v: z.literal(1),
  doc: token,
  from: token,
  session,
  epoch: count.min(1),
  heads: z.string().max(64),
});
export type Heartbeat = z.output<typeof HeartbeatSchema>;

export const SyncHeaderSchema = z.strictObject({
  doc: token,
  from: token,
  session,
  /** The receiver's session this stream is addressed to; another session drops it. */
  to: session,
  epoch: count.min(1),
  /** Pair generation: bumped by either side to restart the pair's sync exchange from scratch. */
  gen: count,
  /** 1, 2, 3 … within (sessions, epoch, gen). */
  seq: count.min(1),
});
export type SyncHeader = z.output<typeof SyncHeaderSchema>;

const VERSION = 1;
const HEADER_BYTES_MAX = 1024;

export function encodeHeartbeat(hb: Heartbeat): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(hb));
}

export function decodeHeartbeat(data: Uint8Array): Heartbeat | undefined {
  try {
    const r = HeartbeatSchema.safeParse(JSON.parse(new TextDecoder().decode(data)));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

export function encodeSync(header: SyncHeader, body: Uint8Array): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(header));
  if (h.length > HEADER_BYTES_MAX) throw new Error(`invariant: sync header is ${h.length} bytes (max ${HEADER_BYTES_MAX})`);
  const out = new Uint8Array(3 + h.length + body.length);
  out[0] = VERSION;
  out[1] = h.length >> 8;
  out[2] = h.length & 0xff;
  out.set(h, 3);
  out.set(body, 3 + h.length);
  return out;
}

export function decodeSync(data: Uint8Array): { header: SyncHeader; body: Uint8Array } | undefined {
  if (data.length < 3 || data[0] !== VERSION) return undefined;
  const len = (data[1]! << 8) | data[2]!;
  if (len > HEADER_BYTES_MAX || 3 + len > data.length) return undefined;
  try {
    const r = SyncHeaderSchema.safeParse(JSON.parse(new TextDecoder().decode(data.subarray(3, 3 + len))));
    if (!r.success) return undefined;
    return { header: r.data, body: data.subarray(3 + len) };
  } catch {
    return undefined;
  }
}

export function heartbeatSubject(prefix: string, doc: string): string {
  return `${prefix}.${doc}.hb`;
}

export function inboxSubject(prefix: string, doc: string, peer: string): string {
  return `${prefix}.${doc}.to.${peer}`;
}
