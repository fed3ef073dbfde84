// HTTP routes of the eventual state (API.md): answered from this node's replica, never forwarded —
// a node cut off from every other node still takes increments and serves its view.
import type { FastifyInstance } from 'fastify';
import { Gauge } from 'prom-client';
import { z } from 'zod';
import { COUNTER_NAME_PATTERN, CrdtIndeterminateError, CrdtInputError, CrdtLimitError, CrdtUnavailableError, INCREMENT_ABS_MAX } from '../../consensus/crdt/index.ts';
import { ApiError, badRequest, indeterminate, notFound, unavailable } from '../http/errors.ts';
import { parseInput } from '../http/validate.ts';
import type { EventualState } from './eventual.ts';
import type { NodeMetrics } from './metrics.ts';

const CounterParams = z.strictObject({ name: z.string().regex(new RegExp(COUNTER_NAME_PATTERN), `a counter name must match ${COUNTER_NAME_PATTERN}`) });
const IncrementBody = z.strictObject({
  by: z
    .number({ error: 'by must be a number' })
    .int('by must be an integer')
    .min(-INCREMENT_ABS_MAX, `by must be at least -${INCREMENT_ABS_MAX}`)
    .max(INCREMENT_ABS_MAX, `by must be at most ${INCREMENT_ABS_MAX}`),
});

function crdtError(e: unknown): never {
  if (e instanceof CrdtInputError) throw badRequest(e.message);
  if (e instanceof CrdtLimitError) throw new ApiError(409, 'limit_exceeded', e.message);
  if (e instanceof CrdtUnavailableError) throw unavailable(e.message);
  if (e instanceof CrdtIndeterminateError) throw indeterminate(e.message);
  throw e;
}

export function registerEventualRoutes(app: FastifyInstance, eventual: EventualState, metrics: NodeMetrics): void {
  registerEventualMetrics(eventual, metrics);

  app.get('/equilibrium', async () => eventual.view());

  app.get('/counters', async () => ({ counters: eventual.counterValues(), node: eventual.replica.peerId, freshness: eventual.freshness() }));

  app.get('/counters/:name', async (req) => {
    const { name } = parseInput(CounterParams, req.params, 'path');
    const c = eventual.replica.counters().get(name);
    if (!c) throw notFound(`no counter '${name}' on node ${eventual.replica.peerId} (yet); GET /counters lists them`);
    return { name, value: c.value, writers: c.writers, node: eventual.replica.peerId };
  });

  app.post('/counters/:name/increment', async (req, reply) => {
    const { name } = parseInput(CounterParams, req.params, 'path');
    const { by } = parseInput(IncrementBody, req.body, 'body');
    try {
      await eventual.replica.increment(name, by);
    } catch (e) {
      crdtError(e);
    }
    return reply.status(202).send({ name, by, node: eventual.replica.peerId, value: eventual.replica.counters().get(name)?.value ?? 0 });
  });
}

/** Gauges refreshed on each scrape from the replica's statistics. */
function registerEventualMetrics(eventual: EventualState, metrics: NodeMetrics): void {
  const r = eventual.replica;
  const registers = [metrics.registry];
  new Gauge({ name: 'nimmer_crdt_doc_bytes', help: 'Bytes of the eventual-state document in its current epoch', registers, collect() { this.set(r.docBytes); } });
  new Gauge({ name: 'nimmer_crdt_epoch', help: 'Compaction epoch of the eventual-state document', registers, collect() { this.set(r.epoch); } });
  new Gauge({ name: 'nimmer_crdt_nats_connected', help: '1 while connected to NATS', registers, collect() { this.set(eventual.freshness().connected ? 1 : 0); } });
  new Gauge({
    name: 'nimmer_crdt_sync_messages',
    help: 'Sync messages since start, by what happened to them',
    labelNames: ['event'],
    registers,
    collect() {
      const s = r.stats;
      this.set({ event: 'sent' }, s.syncSent);
      this.set({ event: 'received' }, s.syncReceived);
      this.set({ event: 'delivered' }, s.syncDelivered);
      this.set({ event: 'pair_reset' }, s.resets);
      for (const [reason, n] of Object.entries(s.dropped)) this.set({ event: `dropped_${reason}` }, n);
    },
  });
  new Gauge({
    name: 'nimmer_crdt_last_sync_age_seconds',
    help: 'Seconds since a sync message from each peer was last delivered (-1: none yet)',
    labelNames: ['peer'],
    registers,
    collect() {
      for (const [peer, p] of Object.entries(r.freshness().peers)) this.set({ peer }, p.lastSyncAgeMs === null ? -1 : p.lastSyncAgeMs / 1000);
    },
  });
}
