// HTTP routes of cross-shard transfers (API.md): POST /transfers, GET /transfers/:id, and the
// internal step route other nodes use to propose a transfer command on a shard hosted here.
// Any node accepts a transfer and forwards it to a node hosting the source shard, which drives it.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ABORT_REASONS, statusOf } from '../../../consensus/txn/index.ts';
import type { ShardRecord, TxCommand } from '../../index.ts';
import { parseGmCommand, ShardIdSchema, TransferIdSchema, TransferPayloadSchema, TRANSFER_REASONS, TX_COMMAND_TYPES } from '../../index.ts';
import { ApiError, badRequest, conflict, indeterminate, notFound, unavailable } from '../../http/errors.ts';
import { parseInput } from '../../http/validate.ts';
import type { GmNode, NodeLogger } from '../gm_node.ts';
import { readBarrier, runtimeError, shardRecordOf } from '../shard_access.ts';
import { TransferDriver, type Run, type TransferRecord } from './driver.ts';
import { askReplicas, FORWARDED_HEADER, type PeerOutcome } from './peer_http.ts';
import { TransferRecovery } from './recovery.ts';
import { transferSettingsFor, type TransferSettings } from './settings.ts';
import { ShardSteps, STEP_PATH } from './shard_steps.ts';

const TransferBody = TransferPayloadSchema.extend({ id: TransferIdSchema });
const IdParams = z.strictObject({ id: TransferIdSchema });
const StatusQuery = z.strictObject({ from: ShardIdSchema.optional() });
const StepBody = z.strictObject({ shard: ShardIdSchema, command: z.looseObject({ type: z.enum(TX_COMMAND_TYPES) }) });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What GET /transfers/:id answers, and what POST /transfers answers or puts in its error details. */
export function transferView(rec: TransferRecord, coordinator: string) {
  return {
    id: rec.id,
    state: statusOf(rec),
    reason: rec.reason,
    from: rec.payload?.from ?? null,
    to: rec.payload?.to ?? null,
    amount: rec.payload?.amount ?? null,
    /** The source shard, whose Raft group holds the decision. */
    coordinator,
    /** The destination has applied the decision too (the record may now be pruned). */
    settled: rec.participantDone,
    decidedAtIndex: rec.decidedAtIndex,
  };
}

export interface TransferService {
  readonly settings: TransferSettings;
  readonly driver: TransferDriver;
  readonly recovery: TransferRecovery;
}

export function registerTransferRoutes(app: FastifyInstance, node: GmNode, log: NodeLogger): TransferService {
  const settings = transferSettingsFor(node.config.raft.proposalTimeoutMs, node.config.transfers);
  const steps = new ShardSteps(node, node.config.raft.proposalTimeoutMs);
  const driver = new TransferDriver(steps, settings, log);
  const recovery = new TransferRecovery(node, driver, steps, settings, log);
  recovery.start();
  app.addHook('onClose', async () => {
    recovery.stop();
    driver.close();
  });

  const hosted = (id: string) => node.hostedShard(id);

  const barrier = (groupId: number): Promise<void> => readBarrier(node, groupId);
  const shardRecord = (id: string): Promise<ShardRecord> => shardRecordOf(node, id);

  function relay(reply: FastifyReply, out: PeerOutcome, what: string): FastifyReply {
    if (out.kind === 'unavailable') throw unavailable(`${what}: ${out.message}`);
    if (out.kind === 'indeterminate') throw indeterminate(`${what}: ${out.message}; GET /transfers/:id tells what happened`);
    if (out.answer.retryAfter) void reply.header('Retry-After', out.answer.retryAfter);
    return reply.status(out.answer.status).type('application/json').send(out.answer.text);
  }

  async function forward(req: FastifyRequest, reply: FastifyReply, shard: ShardRecord, body?: unknown): Promise<FastifyReply> {
    if (req.headers[FORWARDED_HEADER]) throw unavailable(`shard ${shard.id} is not hosted on node n${node.id} and the request was already forwarded once`);
    const out = await askReplicas(node.config, node.id, shard.replicas, { method: body === undefined ? 'GET' : 'POST', path: req.url, body, timeoutMs: settings.requestBudgetMs + 2000 });
    return relay(reply, out, `forwarding to shard ${shard.id}`);
  }

  /** The final answer for a decided or pending record. */
  function answer(reply: FastifyReply, rec: TransferRecord, coordinator: string): FastifyReply {
    const view = transferView(rec, coordinator);
    if (view.state === 'committed') return reply.status(200).send(view);
    if (view.state === 'pending') throw new ApiError(504, 'indeterminate', `transfer '${rec.id}' is not decided yet; GET /transfers/${rec.id} tells the outcome once it is`, view);
    if (rec.reason === TRANSFER_REASONS.unknownAxis) throw new ApiError(404, 'not_found', `transfer '${rec.id}' names an axis its shard does not have; nothing was applied`, view);
    const why =
      rec.reason === TRANSFER_REASONS.insufficientFunds
        ? 'the source would go below its axis minimum'
        : rec.reason === TRANSFER_REASONS.exceedsMax
          ? 'the destination would go above its axis maximum'
          : `it was aborted (${rec.reason})`;
    throw new ApiError(409, 'conflict', `transfer '${rec.id}' did not happen: ${why}; nothing was applied, and retrying this id answers the same — use a new id for a new attempt`, view);
  }

  function answerRun(reply: FastifyReply, run: Run, coordinator: string): FastifyReply {
    if (run.latest) return answer(reply, run.latest, coordinator);
    const f = run.beginFailure;
    if (f === undefined || f.kind === 'indeterminate') throw indeterminate(`transfer '${run.id}' may or may not have begun${f ? ` (${f.message})` : ''}; GET /transfers/${run.id}?from=${coordinator} settles it`);
    if (f.kind === 'unavailable') throw unavailable(`transfer '${run.id}' was not begun: ${f.message}; nothing was applied, retry with the same id`);
    if (f.code === 'txn_busy') throw unavailable(f.message, 1);
    if (f.code === 'txn_conflict') throw conflict(f.message);
    throw new ApiError(409, f.code, f.message);
  }

  app.post('/transfers', async (req, reply) => {
    const body = parseInput(TransferBody, req.body, 'transfer');
    const { id, ...payload } = body;
    if (payload.from.shard === payload.to.shard && payload.from.axis === payload.to.axis) throw badRequest('from and to are the same axis of the same shard; a transfer moves an amount between two axes');
    const source = await shardRecord(payload.from.shard);
    await shardRecord(payload.to.shard);
    const catalogue = node.catalogue();
    if (!catalogue) throw unavailable('no catalogue loaded yet; retry shortly');
    for (const end of [payload.from, payload.to]) {
      if (!catalogue.axes.some((a) => a.id === end.axis)) throw notFound(`no axis '${end.axis}' in the catalogue; GET /catalogue lists the axes`);
    }
    if (!hosted(source.id)) return forward(req, reply, source, body);
    if (hosted(source.id)!.sm.initializedShardId === null) throw unavailable(`shard ${source.id} is not initialised yet (just created); retry shortly`);
    if (payload.from.shard === payload.to.shard) {
      const cmd: TxCommand = { type: 'txLocal', commandId: `tx-local-${id}`, transferId: id, transfer: payload };
      let r;
      try {
        r = (await node.proposeGm(hosted(source.id)!, cmd)).result;
      } catch (e) {
        runtimeError(e);
      }
      if (r.ok && r.type === 'txCoordinator') return answer(reply, r.record, source.id);
      if (!r.ok && r.code === 'invalid') throw badRequest(r.message);
      throw new ApiError(409, r.ok ? 'conflict' : r.code, r.ok ? `unexpected result ${r.type}` : r.message);
    }
    const run = driver.start(id, payload);
    if (!run) throw unavailable(`node n${node.id} is driving ${driver.runningCount} transfers (at most ${settings.driversMax}); nothing was applied, retry shortly`);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([run.answerable, new Promise<void>((r) => (timer = setTimeout(r, settings.requestBudgetMs)))]);
    clearTimeout(timer);
    return answerRun(reply, run, source.id);
  });

  /** This node's answer from the shards it hosts (linearizable); undefined when none knows the id. */
  async function findHere(id: string): Promise<{ rec: TransferRecord; shard: string } | undefined> {
    let failure: unknown;
    for (const s of node.meta.shardMapView().shards) {
      const h = hosted(s.id);
      if (!h) continue;
      try {
        await barrier(s.groupId);
      } catch (e) {
        failure = e;
        continue;
      }
      const rec = h.sm.transferTables.coordinator.get(id);
      if (rec) return { rec, shard: s.id };
    }
    if (failure) throw failure;
    return undefined;
  }

  app.get('/transfers/:id', async (req, reply) => {
    const { id } = parseInput(IdParams, req.params, 'path');
    const q = parseInput(StatusQuery, req.query, 'query');
    if (q.from !== undefined) {
      const source = await shardRecord(q.from);
      const h = hosted(source.id);
      if (!h) return forward(req, reply, source);
      await barrier(source.groupId);
      const known = h.sm.transferTables.coordinator.get(id);
      if (known) return transferView(known, source.id);
      // Never begun here (or pruned): fence the id as aborted, so a begin still in flight fails
      // and this answer stays true. A begin that got in first is reported as it is.
      let r;
      try {
        r = await steps.propose(source.id, { type: 'txDecide', commandId: `tx-fence-${id}`, transferId: id, decision: 'abort', reason: ABORT_REASONS.neverBegun });
      } catch (e) {
        runtimeError(e);
      }
      if (r.ok && r.type === 'txCoordinator') return transferView(r.record, source.id);
      throw unavailable(`could not settle transfer '${id}' on shard ${source.id}: ${r.ok ? r.type : r.message}`);
    }
    const here = await findHere(id);
    if (here) return transferView(here.rec, here.shard);
    if (!req.headers[FORWARDED_HEADER]) {
      const asked = new Set<number>([node.id]);
      for (const s of node.meta.shardMapView().shards) {
        if (hosted(s.id)) continue;
        const others = s.replicas.filter((n) => !asked.has(n));
        others.forEach((n) => asked.add(n));
        if (others.length === 0) continue;
        const out = await askReplicas(node.config, node.id, others, { method: 'GET', path: `/transfers/${encodeURIComponent(id)}`, timeoutMs: settings.requestBudgetMs + 2000 });
        if (out.kind === 'answer' && out.answer.status === 200) return reply.status(200).type('application/json').send(out.answer.text);
      }
    }
    throw notFound(`no transfer '${id}' on any shard (never begun, or pruned long after it finished); GET /transfers/${id}?from=<source shard> settles it for good`, { state: 'unknown' });
  });

  // Holds per axis: what in-doubt transfers keep of each value (`value` itself excludes nothing:
  // it is the balance with every decided transfer applied; `available` is what may leave now).
  app.get('/shards/:shard/transfers', async (req, reply) => {
    const { shard } = parseInput(z.strictObject({ shard: ShardIdSchema }), req.params, 'path');
    const rec = await shardRecord(shard);
    const h = hosted(shard);
    if (!h) return forward(req, reply, rec);
    await barrier(rec.groupId);
    const t = h.sm.transferTables;
    const axes: Record<string, { value: number; heldOut: number; heldIn: number; available: number }> = {};
    for (const [id, a] of Object.entries(h.sm.equilibrium().axes)) {
      const heldOut = t.heldOut(id);
      axes[id] = { value: a.value, heldOut, heldIn: t.heldIn(id), available: a.value - heldOut - a.min };
    }
    return {
      shard,
      index: h.sm.applied,
      inDoubt: { coordinator: t.coordinator.inDoubtCount, participant: t.participant.preparedCount },
      remembered: { coordinator: t.coordinator.finishedCount, participant: t.participant.finishedCount },
      axes,
    };
  });

  app.post(STEP_PATH, async (req) => {
    const body = parseInput(StepBody, req.body, 'transfer step');
    const parsed = parseGmCommand(body.command);
    if (!parsed.ok) throw badRequest(parsed.message);
    const h = hosted(body.shard);
    if (!h) throw unavailable(`shard ${body.shard} is not hosted on node n${node.id}`);
    try {
      const r = await node.proposeGm(h, parsed.command);
      return { result: r.result, index: r.index };
    } catch (e) {
      runtimeError(e);
    }
  });

  return { settings, driver, recovery };
}
