// The node's HTTP API (API.md): any node accepts a request for any shard. A node hosting a
// replica proposes or reads through Raft itself (the runtime forwards to the leader); a node
// without a replica forwards the HTTP request to one that has it.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { parseUid, UidError, templatesForKey } from '../../catalogue/index.ts';
import type { GmResult, MetaResult, ShardRecord } from '../index.ts';
import { ConcreteShardKeySchema, ShardKeySchema, errorCodeHttpStatus, ReplicasSchema, ShardIdSchema, AxisIdSchema, TemplateIdSchema, deviation, shardLimits } from '../index.ts';
import { ApiError, badRequest, conflict, indeterminate, notFound, unavailable } from '../http/errors.ts';
import { parseInput } from '../http/validate.ts';
import type { GmNode } from './gm_node.ts';
import { META_GROUP_ID, newCommandId } from './gm_node.ts';
import { peerHttpUrl } from './config.ts';
import { readBarrier, runtimeError, shardRecordOf } from './shard_access.ts';
import type { NodeMetrics } from './metrics.ts';
import type { Directing } from './directing.ts';
import { eventTracer, gmEventOfUid, registerPipelineRoutes } from './routes_pipeline.ts';
import { RequestLatency } from './latency.ts';

const FORWARDED_HEADER = 'x-nimmer-forwarded';
const nodeName = (id: number) => `n${id}`;

const ConsistencySchema = z.strictObject({ consistency: z.enum(['linearizable', 'stale']).default('linearizable') });
const ShardParams = z.strictObject({ shard: ShardIdSchema });
const AxisParams = z.strictObject({ shard: ShardIdSchema, axis: AxisIdSchema });
const OutcomesQuery = ConsistencySchema.extend({
  afterIndex: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(shardLimits.outcomeRecordsMax).default(1000),
});
const ShardEventParams = z.strictObject({ shard: ShardIdSchema, uid: z.string().min(1).max(256) });
const finiteNumber = z.number({ error: 'must be a number' }).refine(Number.isFinite, 'must be a finite number');
const SetAxisBody = z.strictObject({ value: finiteNumber });
const CasBody = z.strictObject({ expect: finiteNumber, value: finiteNumber });
const TargetBody = z.strictObject({ target: finiteNumber });
const ParticipantsSchema = z.array(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'participant ids are 1-64 characters of [A-Za-z0-9_-]')).max(1000);
const EventBody = z.strictObject({
  key: ConcreteShardKeySchema,
  template: TemplateIdSchema,
  district: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'district is a UID token: 1-64 characters of [A-Za-z0-9_-]'),
  participants: ParticipantsSchema.default([]),
});
const OutcomeBody = z.strictObject({ outcome: z.enum(['success', 'partial', 'failure']) });
const CreateShardBody = z.strictObject({ key: ShardKeySchema, replicas: z.array(z.union([z.number(), z.string()])).min(1), id: ShardIdSchema.optional() });
const SplitBody = z.strictObject({ key: ShardKeySchema, id: ShardIdSchema.optional() });
const MoveBody = z.strictObject({ replicas: z.array(z.union([z.number(), z.string()])).min(1) });
const CatalogueBody = z.strictObject({ catalogue: z.unknown() });
const IdempotencyHeader = z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/, 'Idempotency-Key is 1-100 characters of [A-Za-z0-9_.:-]');

function parseReplicas(raw: Array<number | string>): number[] {
  const ids = raw.map((r) => {
    if (typeof r === 'number') return r;
    const m = /^n([1-9][0-9]*)$/.exec(r);
    return m ? Number(m[1]) : NaN;
  });
  return parseInput(ReplicasSchema, ids, 'replicas (node ids like "n1" or 1)');
}

function commandIdFrom(req: FastifyRequest, prefix: string): string {
  const h = req.headers['idempotency-key'];
  if (h === undefined) return newCommandId(prefix);
  return `${prefix}-${parseInput(IdempotencyHeader, Array.isArray(h) ? h[0] : h, 'Idempotency-Key header')}`;
}

function commandError(r: { ok: false; code: string; message: string }): ApiError {
  const status = (errorCodeHttpStatus as Record<string, number>)[r.code] ?? 409;
  return new ApiError(status, r.code === 'invalid' ? 'bad_request' : r.code, r.message);
}

export function registerRoutes(app: FastifyInstance, node: GmNode, metrics: NodeMetrics, directing: Directing | null = null): void {
  const traceEvent = eventTracer(directing);
  registerPipelineRoutes(app, directing);
  /** Sends the request to node `id` (marked as forwarded, so it is never forwarded again). */
  async function fetchFrom(id: number, req: FastifyRequest, idempotencyKey?: string): Promise<{ status: number; text: string; retryAfter: string | null }> {
    const key = idempotencyKey ?? (req.headers['idempotency-key'] ? String(req.headers['idempotency-key']) : undefined);
    const res = await fetch(peerHttpUrl(node.config, node.id, id) + req.url, {
      method: req.method,
      headers: {
        'content-type': 'application/json',
        [FORWARDED_HEADER]: '1',
        ...(key ? { 'idempotency-key': key } : {}),
      },
      body: req.method === 'GET' || req.method === 'HEAD' ? undefined : JSON.stringify(req.body ?? {}),
      signal: AbortSignal.timeout(node.config.raft.proposalTimeoutMs + 1000),
    });
    metrics.forwarded.inc();
    return { status: res.status, text: await res.text(), retryAfter: res.headers.get('retry-after') };
  }

  /**
   * Forwards the request to the shard's replica nodes in turn, until one gives an answer other
   * than 503 (which means "not applied", so trying the next replica is safe).
   */
  async function forward(req: FastifyRequest, reply: FastifyReply, shard: ShardRecord): Promise<FastifyReply> {
    if (req.headers[FORWARDED_HEADER]) throw unavailable(`shard ${shard.id} is not hosted on node ${nodeName(node.id)} and the request was already forwarded once`);
    const write = req.method !== 'GET' && req.method !== 'HEAD';
    // Every attempt of a write carries one Idempotency-Key, so a write that reached a replica
    // whose answer was lost applies at most once however many replicas are tried.
    const key = write ? (req.headers['idempotency-key'] ? String(req.headers['idempotency-key']) : `fwd-${randomUUID()}`) : undefined;
    let lastError = '';
    let maybeDelivered = false;
    let unavailableAnswer: { status: number; text: string; retryAfter: string | null } | undefined;
    for (const id of shard.replicas) {
      if (id === node.id) continue;
      try {
        const r = await fetchFrom(id, req, key);
        if (r.status === 503) {
          unavailableAnswer = r;
          continue;
        }
        if (r.retryAfter) void reply.header('Retry-After', r.retryAfter);
        return reply.status(r.status).type('application/json').send(r.text);
      } catch (e) {
        const code = ((e as Error & { cause?: { code?: string } }).cause?.code ?? '') as string;
        lastError = `n${id}: ${(e as Error).message}${code ? ` (${code})` : ''}`;
        // A write that may have reached the other node is indeterminate, not unavailable.
        if (write && (e as Error).name === 'TimeoutError') throw indeterminate(`forwarded request to n${id} timed out; it may still take effect`);
        if (write && code !== 'ECONNREFUSED') maybeDelivered = true;
      }
    }
    if (maybeDelivered) throw indeterminate(`the forwarded write may have reached a replica of shard ${shard.id} before its connection failed (${lastError}); it may still take effect`);
    if (unavailableAnswer) {
      if (unavailableAnswer.retryAfter) void reply.header('Retry-After', unavailableAnswer.retryAfter);
      return reply.status(503).type('application/json').send(unavailableAnswer.text);
    }
    throw unavailable(`no replica of shard ${shard.id} answered (${lastError || 'none reachable'})`);
  }

  const shardRecord = (id: string): Promise<ShardRecord> => shardRecordOf(node, id);

  const hosted = (id: string) => node.hostedShard(id);

  const barrier = (groupId: number): Promise<void> => readBarrier(node, groupId);

  function axisOf(shardId: string, axis: string) {
    const h = hosted(shardId)!;
    if (h.sm.initializedShardId === null) throw unavailable(`shard ${shardId} is not initialised yet (waiting for the catalogue); retry shortly`);
    const a = h.sm.axis(axis);
    if (!a) throw notFound(`shard ${shardId} has no axis '${axis}'; GET /catalogue lists the axes`);
    return { a, st: { appliedIndex: h.sm.applied } };
  }

  async function proposeGm(shardId: string, cmd: Parameters<GmNode['proposeGm']>[1]) {
    const h = hosted(shardId)!;
    try {
      return await node.proposeGm(h, cmd);
    } catch (e) {
      runtimeError(e);
    }
  }

  async function proposeMeta(cmd: Parameters<GmNode['proposeMeta']>[0]) {
    try {
      return await node.proposeMeta(cmd);
    } catch (e) {
      runtimeError(e);
    }
  }

  // A callback hook, not an async one: no promise per request.
  app.addHook('onResponse', (req, reply, done) => {
    metrics.observeRequest(req, reply.statusCode, reply.elapsedTime);
    done();
  });

  // --- cluster and health ----------------------------------------------------------------------

  app.get('/health', async (_req, reply) => {
    const reasons: string[] = [];
    if (node.raft.leaderOf(META_GROUP_ID) === 0) reasons.push('the meta group has no leader');
    for (const s of node.meta.shardMapView().shards) {
      const h = hosted(s.id);
      if (h && node.raft.status(s.groupId).leader === 0) reasons.push(`shard ${s.id} has no leader`);
    }
    if (!node.meta.catalogue()) reasons.push('no catalogue loaded yet');
    if (reasons.length > 0) return reply.status(503).send({ status: 'degraded', reasons });
    return { status: 'ok' };
  });

  app.get('/cluster', async () => {
    const stats = node.raft.transportStats();
    return {
      node: nodeName(node.id),
      nodes: node.config.nodes.map((n) => ({
        id: nodeName(n.id),
        url: `http://${n.http.host}:${n.http.port}`,
        alive: n.id === node.id ? true : (stats?.peers[nodeName(n.id)]?.up ?? false),
      })),
      shards: node.meta.shardMapView().shards.map((s) => {
        const st = node.raft.hasGroup(s.groupId) ? node.raft.status(s.groupId) : undefined;
        return {
          id: s.id,
          key: s.key,
          groupId: s.groupId,
          replicas: s.replicas.map(nodeName),
          state: s.state,
          leader: st && st.leader !== 0 ? nodeName(st.leader) : null,
          term: st?.term ?? null,
          commitIndex: st?.commitIndex ?? null,
        };
      }),
      meta: (() => {
        const st = node.raft.status(META_GROUP_ID);
        return { leader: st.leader ? nodeName(st.leader) : null, term: st.term, commitIndex: st.commitIndex };
      })(),
      faults: [],
      postgres: node.config.postgres ?? null,
      nats: node.config.nats ?? [],
    };
  });

  app.get('/metrics', async (_req, reply) => {
    metrics.collect(node, directing);
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.get('/catalogue', async () => {
    const c = node.catalogue();
    const stored = node.meta.catalogue();
    if (!c || !stored) throw unavailable('no catalogue has been loaded into the meta group yet; retry shortly');
    return { version: stored.version, axes: c.axes, templates: c.templates, flags: c.flags };
  });

  // --- shards and equilibrium --------------------------------------------------------------------

  app.get('/shards', async (req) => {
    const q = parseInput(ConsistencySchema, req.query, 'query');
    if (q.consistency === 'linearizable') await barrier(META_GROUP_ID);
    const map = node.meta.shardMap();
    return { version: map.version, shards: map.shards.map((s) => ({ ...s, replicas: s.replicas.map(nodeName), founders: undefined, targetReplicas: s.targetReplicas?.map(nodeName) })) };
  });

  app.get('/shards/:shard/equilibrium', async (req, reply) => {
    const { shard } = parseInput(ShardParams, req.params, 'path');
    const q = parseInput(ConsistencySchema, req.query, 'query');
    const rec = await shardRecord(shard);
    if (!hosted(shard)) return forward(req, reply, rec);
    if (q.consistency === 'linearizable') await barrier(rec.groupId);
    const st = hosted(shard)!.sm.state();
    if (st.shardId === null) throw unavailable(`shard ${shard} is not initialised yet; retry shortly`);
    const status = node.raft.status(rec.groupId);
    const axes: Record<string, { value: number; target: number; tolerance: number; min: number; max: number }> = {};
    for (const [id, a] of Object.entries(st.axes)) axes[id] = { value: a.value, target: a.target, tolerance: a.tolerance, min: a.min, max: a.max };
    return {
      shard,
      key: rec.key,
      term: status.term,
      index: st.appliedIndex,
      catalogueVersion: st.catalogueVersion,
      axes,
      deviation: deviation(st.axes),
      activeEvents: Object.values(st.active).filter((e) => e.status === 'active').length,
      closedEvents: st.closedCount,
      outcomesApplied: hosted(shard)!.sm.equilibrium().outcomesApplied,
    };
  });

  // Every outcome application the shard remembers after a Raft index, in application order: a
  // checker chains them from an equilibrium it read before (whose `index` it passes) to the current one.
  app.get('/shards/:shard/outcomes', async (req, reply) => {
    const { shard } = parseInput(ShardParams, req.params, 'path');
    const q = parseInput(OutcomesQuery, req.query, 'query');
    const rec = await shardRecord(shard);
    if (!hosted(shard)) return forward(req, reply, rec);
    if (q.consistency === 'linearizable') await barrier(rec.groupId);
    const sm = hosted(shard)!.sm;
    const outcomes = sm.outcomeRecordsAfter(q.afterIndex, q.limit).map(([eventUid, r]) => ({ eventUid, ...r }));
    return { shard, index: sm.applied, outcomesApplied: sm.equilibrium().outcomesApplied, outcomes };
  });

  // How an event's outcome took effect on its shard, from replicated state (the GM state
  // machine's outcome records): how many times, and how each axis moved. Kept after the event
  // closed (FIFO, shardLimits.outcomeRecordsMax per shard), so an exactly-once check can read it.
  app.get('/shards/:shard/events/:uid/outcome', async (req, reply) => {
    const { shard, uid } = parseInput(ShardEventParams, req.params, 'path');
    const eventUid = gmEventOfUid(uid);
    const q = parseInput(ConsistencySchema, req.query, 'query');
    const rec = await shardRecord(shard);
    if (!hosted(shard)) return forward(req, reply, rec);
    if (q.consistency === 'linearizable') await barrier(rec.groupId);
    const h = hosted(shard)!;
    const r = h.sm.outcomeRecord(eventUid);
    if (r === undefined) throw notFound(`shard ${shard} has no outcome applied for event ${eventUid} (never applied, or older than its last ${shardLimits.outcomeRecordsMax} applications)`);
    return { shard, eventUid, applied: r.applied, outcome: r.outcome, atIndex: r.atIndex, axes: r.axes, index: h.sm.applied };
  });

  app.get('/shards/:shard/axes/:axis', async (req, reply) => {
    const { shard, axis } = parseInput(AxisParams, req.params, 'path');
    const q = parseInput(ConsistencySchema, req.query, 'query');
    const rec = await shardRecord(shard);
    if (!hosted(shard)) return forward(req, reply, rec);
    if (q.consistency === 'linearizable') await RequestLatency.raft(req, () => barrier(rec.groupId));
    const { a, st } = axisOf(shard, axis);
    return { value: a.value, target: a.target, tolerance: a.tolerance, index: st.appliedIndex };
  });

  /**
   * The axis writes share one path: validate path and body, forward when the shard is not hosted
   * here, check the axis exists, propose, and map the state machine's answer.
   */
  async function writeAxis<S extends z.ZodType>(
    req: FastifyRequest,
    reply: FastifyReply,
    bodySchema: S,
    command: (axis: string, body: z.output<S>, commandId: string) => Parameters<GmNode['proposeGm']>[1],
    prefix: string,
  ): Promise<{ result: GmResult & { code?: string; value?: number }; index: number; term: number } | FastifyReply> {
    const { shard, axis } = parseInput(AxisParams, req.params, 'path');
    const body = parseInput(bodySchema, req.body, 'body');
    const rec = await shardRecord(shard);
    if (!hosted(shard)) return forward(req, reply, rec);
    axisOf(shard, axis);
    const cmd = command(axis, body, commandIdFrom(req, prefix));
    const r = (await RequestLatency.raft(req, () => proposeGm(shard, cmd)))!;
    return { result: r.result as GmResult & { code?: string; value?: number }, index: r.index, term: r.term };
  }

  const failed = (res: GmResult): ApiError => commandError(res as { ok: false; code: string; message: string });

  app.put('/shards/:shard/axes/:axis', async (req, reply) => {
    const r = await writeAxis(req, reply, SetAxisBody, (axis, body, commandId) => ({ type: 'setAxis', commandId, axis, value: body.value }), 'put');
    if (!('result' in r)) return r;
    if (!r.result.ok) throw failed(r.result);
    return { index: r.index, term: r.term, value: (req.body as { value: number }).value };
  });

  app.put('/shards/:shard/axes/:axis/target', async (req, reply) => {
    const r = await writeAxis(req, reply, TargetBody, (axis, body, commandId) => ({ type: 'setTarget', commandId, axis, target: body.target }), 'target');
    if (!('result' in r)) return r;
    if (!r.result.ok) throw failed(r.result);
    return { index: r.index, term: r.term, target: (req.body as { target: number }).target };
  });

  app.post('/shards/:shard/axes/:axis/cas', async (req, reply) => {
    const r = await writeAxis(req, reply, CasBody, (axis, body, commandId) => ({ type: 'casAxis', commandId, axis, expect: body.expect, value: body.value }), 'cas');
    if (!('result' in r)) return r;
    if (r.result.ok) return { ok: true, index: r.index, term: r.term };
    if (r.result.code === 'cas_failed') return { ok: false, value: r.result.value, index: r.index };
    throw failed(r.result);
  });

  // --- events ------------------------------------------------------------------------------------

  app.post('/events', async (req, reply) => {
    const body = parseInput(EventBody, req.body, 'event');
    // Route on an up-to-date shard map and catalogue: after a split (or a catalogue bump) is
    // acknowledged, every node routes (and checks templates) by it, not by a lagging meta replica.
    await barrier(META_GROUP_ID);
    const catalogue = node.catalogue();
    if (!catalogue) throw unavailable('no catalogue loaded yet; retry shortly');
    const rec = node.meta.route(body.key);
    if (!rec) throw notFound(`no shard owns key ${JSON.stringify(body.key)}; GET /shards lists the shard keys`);
    const template = catalogue.templates.find((t) => t.id === body.template);
    if (!template) throw badRequest(`unknown template '${body.template}'; GET /catalogue lists the templates`);
    if (!templatesForKey(catalogue, body.key).some((t) => t.id === template.id)) {
      throw conflict(`template '${template.id}' does not apply to key ${JSON.stringify(body.key)} (its keys: ${JSON.stringify(template.keys)})`);
    }
    const { participants } = template;
    if (body.participants.length < participants.min || body.participants.length > participants.max) {
      throw badRequest(`template '${template.id}' takes ${participants.min}-${participants.max} participants, got ${body.participants.length}`);
    }
    if (!hosted(rec.id)) return forward(req, reply, rec);
    // A shard just created (e.g. by a split) takes its init command first: until then, 503.
    if (hosted(rec.id)!.sm.initializedShardId === null) throw unavailable(`shard ${rec.id} is not initialised yet (just created); retry shortly`);
    const r = (await proposeGm(rec.id, {
      type: 'proposeEvent',
      commandId: commandIdFrom(req, 'event'),
      template: template.id,
      district: body.district,
      participants: body.participants,
      source: 'api',
      effects: { ...template.effects },
    }))!;
    const res = r.result as GmResult & { eventUid?: string };
    if (!res.ok) throw commandError(res as { ok: false; code: string; message: string });
    return reply.status(202).send({ eventUid: res.eventUid, shard: rec.id, index: r.index, term: r.term });
  });

  app.get('/events/:uid', async (req, reply) => {
    const { uid } = req.params as { uid: string };
    let parsed;
    try {
      parsed = parseUid(uid);
    } catch (e) {
      if (e instanceof UidError) throw badRequest(e.message, { code: e.code, position: e.position });
      throw e;
    }
    const q = parseInput(ConsistencySchema, req.query, 'query');
    const eventUid = parsed.gmEvent;
    const findHere = () => {
      for (const s of node.meta.shardMapView().shards) {
        const ev = hosted(s.id)?.sm.event(eventUid);
        if (ev) return { shard: s.id, status: ev.status, ...(ev.outcome !== undefined ? { outcome: ev.outcome } : {}), participants: ev.participants, event: ev };
      }
      return undefined;
    };
    let found = findHere();
    if (!found && q.consistency === 'linearizable') {
      // The event may be committed on a hosted shard this replica has not applied yet (a POST
      // acknowledged by another node): catch up with each hosted shard (ReadIndex) before a 404.
      const groups = node.meta.shardMapView().shards.filter((s) => hosted(s.id)).map((s) => s.groupId);
      const barriers = await Promise.allSettled(groups.map((g) => barrier(g)));
      found = findHere();
      const failed = barriers.find((b): b is PromiseRejectedResult => b.status === 'rejected');
      if (!found && failed) throw failed.reason;
    }
    if (found) return await traceEvent(eventUid, found);
    // Not on a shard this node hosts: ask the nodes hosting the others (once).
    if (!req.headers[FORWARDED_HEADER]) {
      const asked = new Set<number>([node.id]);
      for (const s of node.meta.shardMapView().shards) {
        if (hosted(s.id)) continue;
        for (const id of s.replicas) {
          if (asked.has(id)) continue;
          asked.add(id);
          const r = await fetchFrom(id, req).catch(() => undefined);
          if (r?.status === 200) return reply.status(200).type('application/json').send(r.text);
        }
      }
    }
    // On no shard: an ended event answers from the journal (for its window), else 404. A forwarded
    // request answers for its node's shards only: the asking node consults the journal itself.
    const ended = req.headers[FORWARDED_HEADER] ? null : await traceEvent(eventUid, null);
    if (ended !== null) return ended;
    throw notFound(`no event ${eventUid} on any shard, in the register or in the journal of ended events (it never existed, or its journal window passed)`);
  });

  app.post('/events/:uid/outcome', async (req, reply) => {
    const { uid } = req.params as { uid: string };
    const body = parseInput(OutcomeBody, req.body, 'outcome');
    let parsed;
    try {
      parsed = parseUid(uid);
    } catch (e) {
      if (e instanceof UidError) throw badRequest(e.message, { code: e.code, position: e.position });
      throw e;
    }
    for (const s of node.meta.shardMapView().shards) {
      const h = hosted(s.id);
      if (!h?.sm.event(parsed.gmEvent)) continue;
      const r = (await proposeGm(s.id, { type: 'applyOutcome', commandId: commandIdFrom(req, 'outcome'), eventUid: parsed.gmEvent, outcome: body.outcome }))!;
      const res = r.result as GmResult;
      if (!res.ok) throw commandError(res as { ok: false; code: string; message: string });
      return reply.status(200).send({ ok: true, shard: s.id, index: r.index });
    }
    throw notFound(`no active event ${parsed.gmEvent} on the shards this node hosts`);
  });

  // --- admin (used by the launcher) ---------------------------------------------------------------

  function metaResult(res: MetaResult): Exclude<MetaResult, { ok: false }> {
    if (!res.ok) throw commandError(res as { ok: false; code: string; message: string });
    return res as Exclude<MetaResult, { ok: false }>;
  }

  app.post('/admin/shards', async (req, reply) => {
    const body = parseInput(CreateShardBody, req.body, 'shard');
    const replicas = parseReplicas(body.replicas);
    const r = (await proposeMeta({ type: 'createShard', commandId: commandIdFrom(req, 'create'), key: body.key, replicas, ...(body.id ? { id: body.id } : {}) }))!;
    return reply.status(201).send(metaResult(r.result));
  });

  app.post('/admin/shards/:shard/split', async (req, reply) => {
    const { shard } = parseInput(ShardParams, req.params, 'path');
    const body = parseInput(SplitBody, req.body, 'split');
    const r = (await proposeMeta({ type: 'splitShard', commandId: commandIdFrom(req, 'split'), shard, key: body.key, ...(body.id ? { id: body.id } : {}) }))!;
    return reply.status(201).send(metaResult(r.result));
  });

  app.post('/admin/shards/:shard/move', async (req) => {
    const { shard } = parseInput(ShardParams, req.params, 'path');
    const body = parseInput(MoveBody, req.body, 'move');
    const r = (await proposeMeta({ type: 'moveShard', commandId: commandIdFrom(req, 'move'), shard, replicas: parseReplicas(body.replicas) }))!;
    return metaResult(r.result);
  });

  app.put('/admin/catalogue', async (req) => {
    const body = parseInput(CatalogueBody, req.body, 'catalogue');
    const r = (await proposeMeta({ type: 'setCatalogue', commandId: commandIdFrom(req, 'catalogue'), catalogue: body.catalogue as object }))!;
    return metaResult(r.result);
  });

  // Where slow requests and proposals waited since the last DELETE (the cluster bench reads it).
  app.get('/admin/latency', async () => ({ nodeId: nodeName(node.id), requests: metrics.latency.snapshot(), proposals: node.raft.latency.snapshot(), runtime: node.raft.metrics.snapshot() }));
  app.delete('/admin/latency', async () => {
    metrics.latency.reset();
    node.raft.latency.reset();
    return { ok: true };
  });

  app.get('/admin/status', async () => {
    const shardByGroup = new Map(node.meta.shardMapView().shards.map((s) => [s.groupId, s.id]));
    return {
      nodeId: nodeName(node.id),
      groups: node.raft.groupIds().sort((a, b) => a - b).map((g) => {
        const st = node.raft.status(g);
        return { groupId: g, shard: shardByGroup.get(g) ?? null, role: st.role, leader: st.leader ? nodeName(st.leader) : null, term: st.term, commitIndex: st.commitIndex, appliedIndex: st.appliedIndex };
      }),
      runtime: node.raft.metrics.snapshot(),
    };
  });
}
