// The pipeline's HTTP surface in a node (issue 6): GET /events/:uid's trace through directing,
// composing, canon, delivery and pruning (from the register in Postgres, see directors/event_trace.ts),
// and POST /events/:uid/delivered, where a player (the player client, after the SQLite transaction
// that applied the event's canon committed) acknowledges delivery — idempotent, on any node.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseUid, UidError } from '../../catalogue/index.ts';
import { traceEvent, type EventTrace, type ShardEventState } from '../../directors/index.ts';
import { badRequest, conflict, notFound, unavailable } from '../http/errors.ts';
import { parseInput } from '../http/validate.ts';
import type { Directing } from './directing.ts';

const DeliveredBody = z.strictObject({
  participant: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'participant ids are 1-64 characters of [A-Za-z0-9_-]'),
  /** The event's canon ids the player's local store holds; the register checks they cover every row naming the player. */
  canonIds: z.array(z.number().int().positive()).max(100_000).optional(),
});

/** The GM event a UID names; a malformed UID is a 400 naming the position. */
export function gmEventOfUid(uid: string): string {
  try {
    return parseUid(uid).gmEvent;
  } catch (e) {
    if (e instanceof UidError) throw badRequest(e.message, { code: e.code, position: e.position });
    throw e;
  }
}

export type EventTracer = (uid: string, shard: ShardEventState | null) => Promise<EventTrace | Record<string, unknown> | null>;

/** The shard-only answer (no Postgres in this cluster, or it is unreachable right now). */
function shardOnly(uid: string, shard: ShardEventState, registerError?: string): Record<string, unknown> {
  return {
    uid,
    shard: shard.shard,
    stage: 'committed',
    stages: { proposed: true, committed: true, directing: false, composing: false, canon: false, delivered: false, pruned: false },
    outcome: shard.outcome ?? null,
    outcomeApplied: shard.status === 'resolved',
    event: shard.event,
    ...(registerError !== undefined ? { registerError } : {}),
  };
}

export function eventTracer(directing: Directing | null): EventTracer {
  return async (uid, shard) => {
    if (directing === null) return shard === null ? null : shardOnly(uid, shard);
    try {
      return traceEvent(uid, shard, await directing.snapshot(uid));
    } catch (e) {
      if (shard === null) throw unavailable(`the register (Postgres) is unreachable, so whether event ${uid} ended is unknown: ${e instanceof Error ? e.message : String(e)}; retry shortly`);
      return shardOnly(uid, shard, `the register is unreachable: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
}

export function registerPipelineRoutes(app: FastifyInstance, directing: Directing | null): void {
  app.post('/events/:uid/delivered', async (req) => {
    const { uid } = req.params as { uid: string };
    const eventUid = gmEventOfUid(uid);
    const body = parseInput(DeliveredBody, req.body, 'delivery');
    if (directing === null) throw unavailable('this cluster has no register (no Postgres): delivery is not followed');
    let result;
    try {
      result = await directing.acknowledge(eventUid, body.participant, body.canonIds);
    } catch (e) {
      throw unavailable(`the register (Postgres) is unreachable; the acknowledgement was not recorded: ${e instanceof Error ? e.message : String(e)}; retry (acknowledgements are idempotent)`);
    }
    if (result === 'unknown') throw notFound(`no live or journalled event ${eventUid}: nothing to acknowledge`);
    if (result === 'incomplete') throw conflict(`event ${eventUid} is not fully delivered to ${body.participant}: its canon is not composed yet, or a canon row naming the participant is missing from canonIds; nothing was recorded — acknowledge again once applied`);
    if (result === 'not_participant') throw badRequest(`${body.participant} is not a participant of event ${eventUid}`);
    return { ok: true, result };
  });
}
