// The shard map: which shards exist, which slice of the world (key pattern) each owns, which Raft
// group runs it and on which nodes. Lives in the meta group; these are its pure transitions.
// Each transition checks everything first and returns a new map, so a refused command leaves the
// map exactly as it was.

import { z } from 'zod';
import type {
  CommandError,
  CreateShardCommand,
  DropShardCommand,
  ErrorCode,
  FinishMoveCommand,
  MoveShardCommand,
  SplitShardCommand,
} from './commands.ts';
import { shardLimits } from './limits.ts';
import {
  formatShardKey,
  patternContains,
  routeKey,
  shardIdForKey,
  ShardKeySchema,
  shardKeysEqual,
  specificityRank,
  type ShardKey,
} from './shard_key.ts';

export const SHARD_STATES = ['active', 'moving'] as const;
/** `moving`: the node process is changing the group's membership to `targetReplicas`. */
export type ShardState = (typeof SHARD_STATES)[number];

export interface ShardRecord {
  readonly id: string;
  readonly key: ShardKey;
  /** The shard's Raft group; allocated by the meta group, never reused. */
  readonly groupId: number;
  /** Node ids, ascending. */
  readonly replicas: readonly number[];
  /** The meta-group log index of the command that created the shard. */
  readonly createdAtIndex: number;
  readonly state: ShardState;
  /** The shard this one was split from. */
  readonly parent?: string;
  /** Where a `moving` shard is going, ascending; absent when `active`. */
  readonly targetReplicas?: readonly number[];
  /**
   * The replicas the group was created with, ascending. Only they bootstrap the Raft group (with
   * identical first log entries); a replica added later starts empty and learns from the leader.
   */
  readonly founders: readonly number[];
}

export interface ShardMap {
  /** In creation order (ascending groupId). */
  readonly shards: readonly ShardRecord[];
  readonly nextGroupId: number;
  /** Bumped by every change to the map. */
  readonly version: number;
}

export interface NodeRecord {
  readonly id: number;
  /** host:port of the node's Raft transport. */
  readonly raftAddress: string;
  readonly httpUrl: string;
  readonly registeredAtIndex: number;
}

export function emptyShardMap(): ShardMap {
  return { shards: [], nextGroupId: shardLimits.firstShardGroupId, version: 0 };
}

const index = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const nodeIds = z.array(z.number().int().min(1));

export const ShardRecordSchema = z.strictObject({
  id: z.string().min(1),
  key: ShardKeySchema,
  groupId: index.min(shardLimits.firstShardGroupId),
  replicas: nodeIds.min(1),
  createdAtIndex: index,
  state: z.enum(SHARD_STATES),
  parent: z.string().min(1).optional(),
  targetReplicas: nodeIds.min(1).optional(),
  founders: nodeIds.min(1),
});

export const ShardMapSchema = z
  .strictObject({
    shards: z.array(ShardRecordSchema).max(shardLimits.shardsMax),
    nextGroupId: index.min(shardLimits.firstShardGroupId),
    version: index,
  })
  .superRefine((map, ctx) => {
    const problem = shardMapProblem(map as ShardMap);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

export const NodeRecordSchema = z.strictObject({
  id: z.number().int().min(1),
  raftAddress: z.string().min(1),
  httpUrl: z.string().min(1),
  registeredAtIndex: index,
});

/** What makes a map well formed; undefined when it is. Checked on restore and after each change. */
export function shardMapProblem(map: ShardMap): string | undefined {
  const ids = new Set<string>();
  const keys = new Set<string>();
  const groups = new Set<number>();
  for (const s of map.shards) {
    if (ids.has(s.id)) return `shard id '${s.id}' appears twice`;
    ids.add(s.id);
    const key = formatShardKey(s.key);
    if (keys.has(key)) return `shard key ${key} appears twice`;
    keys.add(key);
    if (groups.has(s.groupId)) return `group ${s.groupId} appears twice`;
    groups.add(s.groupId);
    if (s.groupId >= map.nextGroupId) return `shard '${s.id}' has group ${s.groupId}, not below nextGroupId ${map.nextGroupId}`;
    if ((s.state === 'moving') !== (s.targetReplicas !== undefined)) return `shard '${s.id}' is ${s.state} but targetReplicas is ${s.targetReplicas ? 'set' : 'unset'}`;
  }
  return undefined;
}

export function findShard(map: ShardMap, id: string): ShardRecord | undefined {
  return map.shards.find((s) => s.id === id);
}

/** The shard that owns a concrete key (see routeKey in shard_key.ts). */
export function shardForKey(map: ShardMap, key: ShardKey): ShardRecord | undefined {
  const id = routeKey(map, key);
  return id === undefined ? undefined : findShard(map, id);
}

export type ShardMapChange = { readonly ok: true; readonly map: ShardMap; readonly shard: ShardRecord } | CommandError;

export interface ShardMapContext {
  /** The meta-group log index of the command being applied. */
  readonly index: number;
  /** Whether a node id is registered; replicas must be. */
  readonly isNode: (id: number) => boolean;
}

export function createShard(map: ShardMap, cmd: Pick<CreateShardCommand, 'key' | 'replicas' | 'id'>, ctx: ShardMapContext): ShardMapChange {
  return addShard(map, { key: cmd.key, replicas: cmd.replicas, id: cmd.id, parent: undefined }, ctx);
}

/**
 * A child shard owning a strictly more specific part of the parent's pattern: the keys the child
 * matches route to it (it outranks the parent), the rest of the parent's keys stay with the parent.
 */
export function splitShard(map: ShardMap, cmd: Pick<SplitShardCommand, 'shard' | 'key' | 'replicas' | 'id'>, ctx: ShardMapContext): ShardMapChange {
  const parent = findShard(map, cmd.shard);
  if (parent === undefined) return noShard(map, cmd.shard);
  if (parent.state === 'moving') return error('conflict', `shard '${parent.id}' is moving; finish the move before splitting it`);
  if (!patternContains(parent.key, cmd.key) || shardKeysEqual(parent.key, cmd.key)) {
    return error(
      'invalid',
      `the child key ${formatShardKey(cmd.key)} must be strictly more specific than and within the parent's ${formatShardKey(parent.key)}: ` +
        `keep each field the parent names, and name at least one field the parent leaves '*'`,
    );
  }
  if (specificityRank(cmd.key) <= specificityRank(parent.key)) throw new Error('invariant: a strictly contained key must outrank its parent');
  return addShard(map, { key: cmd.key, replicas: cmd.replicas ?? parent.replicas, id: cmd.id, parent: parent.id }, ctx);
}

export function moveShard(map: ShardMap, cmd: Pick<MoveShardCommand, 'shard' | 'replicas'>, ctx: ShardMapContext): ShardMapChange {
  const shard = findShard(map, cmd.shard);
  if (shard === undefined) return noShard(map, cmd.shard);
  if (shard.state === 'moving') {
    return error('conflict', `shard '${shard.id}' is already moving to nodes ${shard.targetReplicas!.join(',')}; send finishMove first`);
  }
  const unregistered = unregisteredNode(cmd.replicas, ctx);
  if (unregistered) return unregistered;
  const target = ascending(cmd.replicas);
  if (sameIds(target, shard.replicas)) return error('invalid', `shard '${shard.id}' already runs on nodes ${target.join(',')}; nothing to move`);
  return replace(map, { ...shard, state: 'moving', targetReplicas: target });
}

export function finishMove(map: ShardMap, cmd: Pick<FinishMoveCommand, 'shard'>): ShardMapChange {
  const shard = findShard(map, cmd.shard);
  if (shard === undefined) return noShard(map, cmd.shard);
  if (shard.state !== 'moving') return error('conflict', `shard '${shard.id}' is not moving; send moveShard first`);
  const { targetReplicas, ...rest } = shard;
  return replace(map, { ...rest, state: 'active', replicas: targetReplicas! });
}

export function dropShard(map: ShardMap, cmd: Pick<DropShardCommand, 'shard'>): ShardMapChange {
  const shard = findShard(map, cmd.shard);
  if (shard === undefined) return noShard(map, cmd.shard);
  if (shard.state === 'moving') return error('conflict', `shard '${shard.id}' is moving; finish the move before dropping it`);
  const next: ShardMap = { ...map, shards: map.shards.filter((s) => s.id !== shard.id), version: map.version + 1 };
  return checked(next, shard);
}

function addShard(
  map: ShardMap,
  spec: { key: ShardKey; replicas: readonly number[]; id: string | undefined; parent: string | undefined },
  ctx: ShardMapContext,
): ShardMapChange {
  if (map.shards.length >= shardLimits.shardsMax) return error('conflict', `the map already holds ${map.shards.length} shards (at most ${shardLimits.shardsMax}); drop one first`);
  const sameKey = map.shards.find((s) => shardKeysEqual(s.key, spec.key));
  if (sameKey !== undefined) {
    // Unique keys are what makes routing unambiguous (see routeKey).
    return error('conflict', `shard '${sameKey.id}' already owns key ${formatShardKey(spec.key)}; a key has one shard`);
  }
  if (spec.id !== undefined && findShard(map, spec.id) !== undefined) return error('conflict', `shard id '${spec.id}' is taken; choose another id`);
  const unregistered = unregisteredNode(spec.replicas, ctx);
  if (unregistered) return unregistered;
  const groupId = map.nextGroupId;
  const shard: ShardRecord = {
    id: spec.id ?? freeShardId(map, spec.key, groupId),
    key: { ...spec.key },
    groupId,
    replicas: ascending(spec.replicas),
    founders: ascending(spec.replicas),
    createdAtIndex: ctx.index,
    state: 'active',
    ...(spec.parent === undefined ? {} : { parent: spec.parent }),
  };
  return checked({ shards: [...map.shards, shard], nextGroupId: groupId + 1, version: map.version + 1 }, shard);
}

/** `s-north-political`; when taken or too long, qualified by the (never reused) group id. */
function freeShardId(map: ShardMap, key: ShardKey, groupId: number): string {
  const taken = (id: string): boolean => findShard(map, id) !== undefined;
  const fits = (id: string): boolean => id.length <= shardLimits.shardIdCharsMax;
  const derived = shardIdForKey(key);
  for (const candidate of [derived, `${derived}-g${groupId}`, `s-g${groupId}`]) if (fits(candidate) && !taken(candidate)) return candidate;
  for (let n = 2; ; n++) {
    const candidate = `s-g${groupId}-${n}`;
    if (!taken(candidate)) return candidate;
  }
}

function replace(map: ShardMap, shard: ShardRecord): ShardMapChange {
  const next: ShardMap = { ...map, shards: map.shards.map((s) => (s.id === shard.id ? shard : s)), version: map.version + 1 };
  return checked(next, shard);
}

function checked(map: ShardMap, shard: ShardRecord): ShardMapChange {
  const problem = shardMapProblem(map);
  if (problem !== undefined) throw new Error(`invariant: shard map change broke the map: ${problem}`);
  return { ok: true, map, shard };
}

function unregisteredNode(replicas: readonly number[], ctx: ShardMapContext): CommandError | undefined {
  const missing = replicas.filter((id) => !ctx.isNode(id));
  if (missing.length === 0) return undefined;
  return error('not_found', `node${missing.length > 1 ? 's' : ''} ${missing.join(',')} ${missing.length > 1 ? 'are' : 'is'} not registered; send registerNode first`);
}

function noShard(map: ShardMap, id: string): CommandError {
  const known = map.shards.map((s) => s.id);
  const listed = known.length === 0 ? 'no shards' : known.slice(0, 20).join(', ') + (known.length > 20 ? `, … (${known.length} in all)` : '');
  return error('not_found', `no shard '${id}'; the map has ${listed}`);
}

function ascending(ids: readonly number[]): number[] {
  return [...ids].sort((a, b) => a - b);
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function error(code: ErrorCode, message: string): CommandError {
  return { ok: false, code, message };
}
