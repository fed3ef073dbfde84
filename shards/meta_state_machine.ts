// The meta group's state machine: the shard map, the catalogue (version + document) and the
// registered nodes — the cluster's strongly consistent directory.
//
// Deterministic, like every state machine here: same entries, same results, same bytes. A bad
// command becomes an `invalid` result, never an exception (a throwing state machine stops the
// node). Each command is idempotent by its commandId.

import { z } from 'zod';
import { CatalogueError, checkCatalogueUpgrade, validateCatalogue } from '../catalogue/index.ts';
import type { AppliedCommand, StateMachine } from '../consensus/runtime/index.ts';
import { canonicalJsonSpliced, SPLICE } from './canonical_json.ts';
import {
  entryFingerprint,
  decodeMetaCommand,
  type CommandError,
  type ErrorCode,
  type MetaCommand,
  type MetaResult,
  type RegisterNodeCommand,
  type SetCatalogueCommand,
} from './commands.ts';
import { DedupTable, dedupRowsSchema } from './dedup_table.ts';
import { shardLimits } from './limits.ts';
import type { ShardKey } from './shard_key.ts';
import {
  createShard,
  dropShard,
  emptyShardMap,
  findShard,
  finishMove,
  moveShard,
  NodeRecordSchema,
  shardForKey,
  ShardMapSchema,
  splitShard,
  type NodeRecord,
  type ShardMap,
  type ShardMapChange,
  type ShardRecord,
} from './shard_map.ts';

/** The catalogue as the meta group holds it: opaque JSON, as the validator normalised it. */
export interface StoredCatalogue {
  readonly version: number;
  readonly document: unknown;
}

export type CatalogueValidation = { readonly ok: true; readonly version: number; readonly document: unknown } | { readonly ok: false; readonly message: string };

/**
 * Checks a proposed catalogue document against the current one and returns its version and the
 * document to store. Must be a pure function: it runs on every replica. The meta state machine
 * itself enforces `version = current + 1` (current is 0 before the first catalogue).
 */
export type CatalogueValidator = (document: unknown, current: StoredCatalogue | null) => CatalogueValidation;

/**
 * The catalogue module's rules: a valid document (stored normalised: sorted, defaults filled in)
 * that changes some axis, template or flag of the current one.
 */
export const defaultCatalogueValidator: CatalogueValidator = (document, current) => {
  try {
    const next = validateCatalogue(document);
    if (current !== null) {
      const check = checkCatalogueUpgrade(validateCatalogue(current.document), next);
      // The version rule is the state machine's to report (as a conflict); the rest is ours.
      const issues = check.ok ? [] : check.issues.filter((i) => i.code !== 'version_not_next');
      if (issues.length > 0) return { ok: false, message: issues.map((i) => i.message).join('; ') };
    }
    return { ok: true, version: next.version, document: next };
  } catch (e) {
    if (e instanceof CatalogueError) return { ok: false, message: e.message };
    throw e;
  }
};

export interface MetaStateMachineOptions {
  /** Default: defaultCatalogueValidator. Must be the same function on every replica. */
  readonly validateCatalogue?: CatalogueValidator;
  /** Remembered command ids (default shardLimits.dedupEntriesMax). Must be equal on every replica. */
  readonly dedupEntriesMax?: number;
}

export interface MetaState {
  readonly catalogue: StoredCatalogue | null;
  readonly shardMap: ShardMap;
  /** Ascending by id. */
  readonly nodes: readonly NodeRecord[];
  /** The Raft index of the last command applied (0: none). */
  readonly appliedIndex: number;
}

const MetaStateSchema = z.strictObject({
  catalogue: z.strictObject({ version: z.number().int().min(1), document: z.unknown() }).nullable(),
  shardMap: ShardMapSchema,
  nodes: z.array(NodeRecordSchema).max(shardLimits.nodesMax),
  appliedIndex: z.number().int().min(0),
});

const SnapshotSchema = z.strictObject({
  format: z.literal('nimmer/meta-state/v1'),
  state: MetaStateSchema,
  dedup: dedupRowsSchema(z.looseObject({ ok: z.boolean() })),
});

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

export class MetaStateMachine implements StateMachine<MetaResult> {
  private readonly validate: CatalogueValidator;
  private readonly dedupEntriesMax: number;
  private catalogueStored: StoredCatalogue | null = null;
  private map: ShardMap = emptyShardMap();
  private nodeTable = new Map<number, NodeRecord>();
  private appliedIndex = 0;
  private dedup: DedupTable<MetaResult>;

  constructor(options: MetaStateMachineOptions = {}) {
    this.validate = options.validateCatalogue ?? defaultCatalogueValidator;
    this.dedupEntriesMax = options.dedupEntriesMax ?? shardLimits.dedupEntriesMax;
    this.dedup = new DedupTable<MetaResult>(this.dedupEntriesMax);
  }

  apply(entry: AppliedCommand): MetaResult {
    if (!(entry.index > this.appliedIndex)) {
      throw new Error(`invariant: meta state machine applied index ${entry.index} after ${this.appliedIndex}; entries must arrive in log order`);
    }
    this.appliedIndex = entry.index;
    const decoded = decodeMetaCommand(entry.data);
    // Without a valid command there is no trustworthy commandId to remember: refuse, change nothing.
    if (!decoded.ok) return error('invalid', decoded.message);
    const cmd = decoded.command;
    const fingerprint = entryFingerprint(decoded);
    const seen = this.dedup.get(cmd.commandId);
    if (seen !== undefined) {
      if (seen.fingerprint === fingerprint) return this.dedup.resultOf(seen);
      return error('conflict', `commandId '${cmd.commandId}' was already used for a different command; use a new id for a new command`);
    }
    const result = this.decide(cmd, entry.index);
    // Recorded as canonical JSON: what the caller does with its result cannot change what a retry gets.
    this.dedup.record(cmd.commandId, fingerprint, result);
    return result;
  }

  snapshot(): Uint8Array {
    return canonicalJsonSpliced({ format: 'nimmer/meta-state/v1', state: this.state(), dedup: SPLICE }, [this.dedup.toCanonicalBytes()]);
  }

  /** Replaces the whole state; empty bytes mean the initial state. Throws on a corrupt snapshot. */
  restore(data: Uint8Array): void {
    if (data.byteLength === 0) {
      this.catalogueStored = null;
      this.map = emptyShardMap();
      this.nodeTable = new Map();
      this.appliedIndex = 0;
      this.dedup = new DedupTable<MetaResult>(this.dedupEntriesMax);
      return;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(utf8Decoder.decode(data));
    } catch (e) {
      throw new Error(`meta snapshot is not UTF-8 JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
    const parsed = SnapshotSchema.safeParse(raw);
    if (!parsed.success) throw new Error(`meta snapshot is invalid: ${z.prettifyError(parsed.error)}`);
    const state = parsed.data.state as MetaState;
    this.catalogueStored = state.catalogue;
    this.map = state.shardMap;
    this.nodeTable = new Map(state.nodes.map((n) => [n.id, n]));
    if (this.nodeTable.size !== state.nodes.length) throw new Error('meta snapshot is invalid: a node id appears twice');
    this.appliedIndex = state.appliedIndex;
    this.dedup = DedupTable.fromJSON(this.dedupEntriesMax, parsed.data.dedup as unknown as [string, string, MetaResult][]);
  }

  /** A copy of the whole state (plain JSON data). */
  state(): MetaState {
    return structuredClone({
      catalogue: this.catalogueStored,
      shardMap: this.map,
      nodes: [...this.nodeTable.values()].sort((a, b) => a.id - b.id),
      appliedIndex: this.appliedIndex,
    });
  }

  /** The last applied Raft index; cheap (no copy), for polling. */
  get applied(): number {
    return this.appliedIndex;
  }

  /** The current catalogue version (0 before the first setCatalogue); cheap. */
  catalogueVersion(): number {
    return this.catalogueStored?.version ?? 0;
  }

  /**
   * The shard map without a copy, for hot read paths. Transitions build new objects and never
   * mutate a published map, so it stays valid; callers must not mutate it.
   */
  shardMapView(): Readonly<ShardMap> {
    return this.map;
  }

  /** One shard's record without a copy (same rules as shardMapView). */
  shardView(id: string): Readonly<ShardRecord> | undefined {
    return findShard(this.map, id);
  }

  /** The stored catalogue without a copy; callers must not mutate it. */
  catalogueView(): Readonly<StoredCatalogue> | null {
    return this.catalogueStored;
  }

  shardMap(): ShardMap {
    return structuredClone(this.map);
  }

  shard(id: string): ShardRecord | undefined {
    const s = findShard(this.map, id);
    return s === undefined ? undefined : structuredClone(s);
  }

  /** The shard owning a concrete key: the most specific match (see routeKey). */
  route(key: ShardKey): ShardRecord | undefined {
    const s = shardForKey(this.map, key);
    return s === undefined ? undefined : structuredClone(s);
  }

  catalogue(): StoredCatalogue | null {
    return structuredClone(this.catalogueStored);
  }

  nodes(): NodeRecord[] {
    return [...this.nodeTable.values()].sort((a, b) => a.id - b.id).map((n) => ({ ...n }));
  }

  get dedupSize(): number {
    return this.dedup.size;
  }

  private decide(cmd: MetaCommand, index: number): MetaResult {
    const ctx = { index, isNode: (id: number) => this.nodeTable.has(id) };
    switch (cmd.type) {
      case 'createShard':
        return this.commitMap(cmd.type, createShard(this.map, cmd, ctx));
      case 'splitShard':
        return this.commitMap(cmd.type, splitShard(this.map, cmd, ctx));
      case 'moveShard':
        return this.commitMap(cmd.type, moveShard(this.map, cmd, ctx));
      case 'finishMove':
        return this.commitMap(cmd.type, finishMove(this.map, cmd));
      case 'dropShard':
        return this.commitMap(cmd.type, dropShard(this.map, cmd));
      case 'setCatalogue':
        return this.setCatalogue(cmd);
      case 'registerNode':
        return this.registerNode(cmd, index);
    }
  }

  private commitMap(type: 'createShard' | 'splitShard' | 'moveShard' | 'finishMove' | 'dropShard', change: ShardMapChange): MetaResult {
    if (!change.ok) return change;
    if (change.map.version !== this.map.version + 1) throw new Error('invariant: a shard map change bumps the version by one');
    this.map = change.map;
    return { ok: true, type, shard: structuredClone(change.shard), mapVersion: change.map.version } as MetaResult;
  }

  private setCatalogue(cmd: SetCatalogueCommand): MetaResult {
    let validation: CatalogueValidation;
    try {
      validation = this.validate(cmd.catalogue, this.catalogueStored);
    } catch (e) {
      // A validator is pure, so its throw is the same on every replica: a refusal, not a crash.
      return error('invalid', `the catalogue validator failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (!validation.ok) return error('invalid', validation.message);
    const current = this.catalogueStored?.version ?? 0;
    if (validation.version !== current + 1) {
      return error('conflict', `the catalogue is at version ${current}; the next one must be version ${current + 1}, got ${validation.version}`);
    }
    let document: unknown;
    try {
      // Stored as plain JSON, so the snapshot holds exactly what a restore gives back.
      document = JSON.parse(JSON.stringify(validation.document)) as unknown;
    } catch (e) {
      return error('invalid', `the catalogue document is not JSON-encodable: ${e instanceof Error ? e.message : String(e)}`);
    }
    this.catalogueStored = { version: validation.version, document };
    return { ok: true, type: 'setCatalogue', version: validation.version };
  }

  private registerNode(cmd: RegisterNodeCommand, index: number): MetaResult {
    const existing = this.nodeTable.get(cmd.id);
    if (existing === undefined && this.nodeTable.size >= shardLimits.nodesMax) {
      return error('conflict', `${this.nodeTable.size} nodes are registered (at most ${shardLimits.nodesMax})`);
    }
    // Re-registering updates the addresses: a restarted node may come back on new ports.
    const node: NodeRecord =
      existing !== undefined && existing.raftAddress === cmd.raftAddress && existing.httpUrl === cmd.httpUrl
        ? existing
        : { id: cmd.id, raftAddress: cmd.raftAddress, httpUrl: cmd.httpUrl, registeredAtIndex: index };
    this.nodeTable.set(cmd.id, node);
    return { ok: true, type: 'registerNode', node: { ...node }, created: existing === undefined };
  }
}

function error(code: ErrorCode, message: string): CommandError {
  return { ok: false, code, message };
}
