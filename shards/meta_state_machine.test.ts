import { beforeEach, describe, expect, it } from 'vitest';
import type { MetaCommand, MetaResult } from './commands.ts';
import { MetaStateMachine, type CatalogueValidator, type MetaState } from './meta_state_machine.ts';
import { parseShardKey, type ShardKey } from './shard_key.ts';
import type { ShardRecord } from './shard_map.ts';
import { Driver, snapshotText, testCatalogueDocument } from './testing/fixtures.ts';

const key = (geography: string, theme: string, tier: string, faction: string): ShardKey => parseShardKey({ geography, theme, tier, faction });
const north = key('north', '*', '*', '*');
const northPolitical = key('north', 'political', '*', '*');

let next = 0;
const cid = (): string => `c${++next}`;

function register(d: Driver<MetaResult>, ...ids: number[]): void {
  for (const id of ids) {
    expect(d.apply({ type: 'registerNode', commandId: `reg-${id}`, id, raftAddress: `127.0.0.1:${7000 + id}`, httpUrl: `http://127.0.0.1:${7100 + id}` })).toMatchObject({ ok: true });
  }
}

function created(result: MetaResult): ShardRecord {
  if (!result.ok || !('shard' in result)) throw new Error(`expected a shard, got ${JSON.stringify(result)}`);
  return result.shard;
}

/** The state a command may change, without the bookkeeping every entry advances. */
function domain(sm: MetaStateMachine): Omit<MetaState, 'appliedIndex'> {
  const { appliedIndex: _, ...rest } = sm.state();
  return rest;
}

let sm: MetaStateMachine;
let d: Driver<MetaResult>;

beforeEach(() => {
  sm = new MetaStateMachine();
  d = new Driver(sm);
  register(d, 1, 2, 3, 4, 5);
});

describe('createShard', () => {
  it('allocates group ids from 100, derives ids from keys, sorts replicas', () => {
    const a = created(d.apply({ type: 'createShard', commandId: cid(), key: northPolitical, replicas: [3, 1, 2] }));
    expect(a).toEqual({ id: 's-north-political', key: northPolitical, groupId: 100, replicas: [1, 2, 3], founders: [1, 2, 3], createdAtIndex: d.index, state: 'active' });
    const b = created(d.apply({ type: 'createShard', commandId: cid(), key: north, replicas: [1], id: 'north-all' }));
    expect(b.id).toBe('north-all');
    expect(b.groupId).toBe(101);
    expect(sm.shardMap()).toMatchObject({ nextGroupId: 102, version: 2 });
  });

  it('rejects a duplicate key and a duplicate id, changing nothing', () => {
    d.apply({ type: 'createShard', commandId: cid(), key: north, replicas: [1], id: 'n' });
    const before = domain(sm);
    expect(d.apply({ type: 'createShard', commandId: cid(), key: north, replicas: [2] })).toMatchObject({ ok: false, code: 'conflict', message: expect.stringMatching(/already owns key north/) });
    expect(d.apply({ type: 'createShard', commandId: cid(), key: northPolitical, replicas: [2], id: 'n' })).toMatchObject({ ok: false, code: 'conflict', message: expect.stringMatching(/id 'n' is taken/) });
    expect(domain(sm)).toEqual(before);
  });

  it('requires registered replicas', () => {
    expect(d.apply({ type: 'createShard', commandId: cid(), key: north, replicas: [1, 9] })).toMatchObject({ ok: false, code: 'not_found', message: expect.stringMatching(/node 9 is not registered/) });
  });

  it('qualifies a derived id that is taken with the group id', () => {
    d.apply({ type: 'createShard', commandId: cid(), key: northPolitical, replicas: [1], id: 's-north' });
    expect(created(d.apply({ type: 'createShard', commandId: cid(), key: north, replicas: [1] })).id).toBe('s-north-g101');
  });

  it('rejects malformed replicas and keys as invalid', () => {
    expect(d.apply({ type: 'createShard', commandId: cid(), key: north, replicas: [] })).toMatchObject({ code: 'invalid' });
    expect(d.apply({ type: 'createShard', commandId: cid(), key: north, replicas: [1, 1] })).toMatchObject({ code: 'invalid', message: expect.stringMatching(/must not repeat/) });
    expect(d.applyJson({ type: 'createShard', commandId: cid(), key: { ...north, geography: 'North' }, replicas: [1] })).toMatchObject({
      code: 'invalid',
      message: expect.stringMatching(/key\.geography: 'North' is not a valid geography/),
    });
  });
});

describe('splitShard', () => {
  beforeEach(() => {
    d.apply({ type: 'createShard', commandId: cid(), key: north, replicas: [1, 2, 3], id: 'north' });
  });

  it('creates a child with a strictly more specific key inside the parent, on the parent replicas', () => {
    const child = created(d.apply({ type: 'splitShard', commandId: cid(), shard: 'north', key: northPolitical }));
    expect(child).toMatchObject({ id: 's-north-political', key: northPolitical, parent: 'north', replicas: [1, 2, 3], groupId: 101 });
    expect(sm.route(key('north', 'political', 'everyday', 'crown'))?.id).toBe('s-north-political');
    expect(sm.route(key('north', 'economic', 'everyday', 'crown'))?.id).toBe('north');
    expect(sm.route(key('south', 'economic', 'everyday', 'crown'))).toBeUndefined();
  });

  it('takes replicas and an id when given', () => {
    const child = created(d.apply({ type: 'splitShard', commandId: cid(), shard: 'north', key: northPolitical, replicas: [5, 4], id: 'np' }));
    expect(child).toMatchObject({ id: 'np', replicas: [4, 5] });
  });

  it('rejects keys that are not strictly inside the parent', () => {
    const before = domain(sm);
    for (const k of [north, key('south', 'political', '*', '*'), key('*', 'political', '*', '*')]) {
      expect(d.apply({ type: 'splitShard', commandId: cid(), shard: 'north', key: k })).toMatchObject({ ok: false, code: 'invalid', message: expect.stringMatching(/strictly more specific/) });
    }
    expect(domain(sm)).toEqual(before);
  });

  it('rejects a child key some shard already owns, and an unknown parent', () => {
    d.apply({ type: 'createShard', commandId: cid(), key: northPolitical, replicas: [1] });
    expect(d.apply({ type: 'splitShard', commandId: cid(), shard: 'north', key: northPolitical })).toMatchObject({ code: 'conflict' });
    expect(d.apply({ type: 'splitShard', commandId: cid(), shard: 'nope', key: northPolitical })).toMatchObject({ code: 'not_found', message: expect.stringMatching(/no shard 'nope'/) });
  });
});

describe('moveShard and finishMove', () => {
  beforeEach(() => {
    d.apply({ type: 'createShard', commandId: cid(), key: north, replicas: [1, 2, 3], id: 'north' });
  });

  it('records the target, then makes it the replica set', () => {
    const moving = created(d.apply({ type: 'moveShard', commandId: cid(), shard: 'north', replicas: [4, 2, 3] }));
    expect(moving).toMatchObject({ state: 'moving', replicas: [1, 2, 3], targetReplicas: [2, 3, 4] });
    // Routing keeps working during the move.
    expect(sm.route(key('north', 'economic', 'everyday', 'crown'))?.id).toBe('north');
    const done = created(d.apply({ type: 'finishMove', commandId: cid(), shard: 'north' }));
    expect(done).toEqual({ id: 'north', key: north, groupId: 100, replicas: [2, 3, 4], founders: [1, 2, 3], createdAtIndex: done.createdAtIndex, state: 'active' });
    expect(sm.shard('north')).toEqual(done);
  });

  it('refuses a second move, a move to the same replicas, finishing a shard that is not moving, and unregistered targets', () => {
    expect(d.apply({ type: 'finishMove', commandId: cid(), shard: 'north' })).toMatchObject({ code: 'conflict', message: expect.stringMatching(/not moving/) });
    expect(d.apply({ type: 'moveShard', commandId: cid(), shard: 'north', replicas: [3, 2, 1] })).toMatchObject({ code: 'invalid' });
    expect(d.apply({ type: 'moveShard', commandId: cid(), shard: 'north', replicas: [1, 2, 9] })).toMatchObject({ code: 'not_found' });
    d.apply({ type: 'moveShard', commandId: cid(), shard: 'north', replicas: [1, 2, 4] });
    const before = domain(sm);
    expect(d.apply({ type: 'moveShard', commandId: cid(), shard: 'north', replicas: [1, 2, 5] })).toMatchObject({ code: 'conflict', message: expect.stringMatching(/already moving/) });
    expect(d.apply({ type: 'dropShard', commandId: cid(), shard: 'north' })).toMatchObject({ code: 'conflict' });
    expect(d.apply({ type: 'splitShard', commandId: cid(), shard: 'north', key: northPolitical })).toMatchObject({ code: 'conflict' });
    expect(domain(sm)).toEqual(before);
  });
});

describe('dropShard', () => {
  it('removes the shard; its keys fall back to the next most specific shard', () => {
    d.apply({ type: 'createShard', commandId: cid(), key: key('*', '*', '*', '*'), replicas: [1] });
    d.apply({ type: 'createShard', commandId: cid(), key: north, replicas: [1], id: 'north' });
    const k = key('north', 'political', 'everyday', 'crown');
    expect(sm.route(k)?.id).toBe('north');
    expect(d.apply({ type: 'dropShard', commandId: cid(), shard: 'north' })).toMatchObject({ ok: true, type: 'dropShard', shard: { id: 'north' }, mapVersion: 3 });
    expect(sm.route(k)?.id).toBe('s-all');
    expect(d.apply({ type: 'dropShard', commandId: cid(), shard: 'north' })).toMatchObject({ code: 'not_found' });
    // Group ids are never reused.
    expect(created(d.apply({ type: 'createShard', commandId: cid(), key: north, replicas: [1], id: 'north' })).groupId).toBe(102);
  });
});

describe('setCatalogue', () => {
  it('starts at version 1 and takes exactly current + 1', () => {
    expect(d.apply({ type: 'setCatalogue', commandId: cid(), catalogue: testCatalogueDocument(2, []) })).toMatchObject({
      ok: false,
      code: 'conflict',
      message: expect.stringMatching(/at version 0; the next one must be version 1, got 2/),
    });
    expect(sm.catalogue()).toBeNull();
    expect(d.apply({ type: 'setCatalogue', commandId: cid(), catalogue: testCatalogueDocument(1, []) })).toEqual({ ok: true, type: 'setCatalogue', version: 1 });
    expect(sm.catalogue()?.version).toBe(1);
    expect(d.apply({ type: 'setCatalogue', commandId: cid(), catalogue: testCatalogueDocument(1, [{ id: 'x', effects: { order: 1 } }]) })).toMatchObject({ code: 'conflict' });
    expect(d.apply({ type: 'setCatalogue', commandId: cid(), catalogue: testCatalogueDocument(3, [{ id: 'x', effects: { order: 1 } }]) })).toMatchObject({ code: 'conflict' });
    expect(d.apply({ type: 'setCatalogue', commandId: cid(), catalogue: testCatalogueDocument(2, [{ id: 'x', effects: { order: 1 } }]) })).toEqual({ ok: true, type: 'setCatalogue', version: 2 });
    expect(sm.catalogue()).toMatchObject({ version: 2, document: { version: 2, templates: [{ id: 'x', weight: 1, cooldownTicks: 0 }] } });
  });

  it('rejects an invalid document, and one that changes nothing, as invalid', () => {
    const bad = testCatalogueDocument(1, [{ id: 'x', effects: { nope: 1 } }]);
    expect(d.apply({ type: 'setCatalogue', commandId: cid(), catalogue: bad })).toMatchObject({ code: 'invalid', message: expect.stringMatching(/unknown axis 'nope'/) });
    expect(d.apply({ type: 'setCatalogue', commandId: cid(), catalogue: 'not a catalogue' })).toMatchObject({ code: 'invalid' });
    d.apply({ type: 'setCatalogue', commandId: cid(), catalogue: testCatalogueDocument(1, []) });
    expect(d.apply({ type: 'setCatalogue', commandId: cid(), catalogue: testCatalogueDocument(2, []) })).toMatchObject({ code: 'invalid', message: expect.stringMatching(/changes no axis/) });
    expect(sm.catalogue()?.version).toBe(1);
  });

  it('uses the provided validator', () => {
    const seen: unknown[] = [];
    const validator: CatalogueValidator = (doc, current) => {
      seen.push(current?.version ?? null);
      const v = (doc as { v?: unknown }).v;
      return typeof v === 'number' ? { ok: true, version: v, document: { v } } : { ok: false, message: 'no v' };
    };
    const custom = new Driver(new MetaStateMachine({ validateCatalogue: validator }));
    expect(custom.apply({ type: 'setCatalogue', commandId: 'a', catalogue: { v: 1 } })).toMatchObject({ ok: true, version: 1 });
    expect(custom.apply({ type: 'setCatalogue', commandId: 'b', catalogue: {} })).toEqual({ ok: false, code: 'invalid', message: 'no v' });
    expect(custom.apply({ type: 'setCatalogue', commandId: 'c', catalogue: { v: 2 } })).toMatchObject({ ok: true, version: 2 });
    expect(seen).toEqual([null, 1, 1]);
    const throwing = new Driver(new MetaStateMachine({ validateCatalogue: () => { throw new Error('boom'); } }));
    expect(throwing.apply({ type: 'setCatalogue', commandId: 'a', catalogue: {} })).toMatchObject({ code: 'invalid', message: expect.stringMatching(/boom/) });
  });
});

describe('registerNode', () => {
  it('creates, then updates the addresses of a re-registered node', () => {
    expect(sm.nodes().map((n) => n.id)).toEqual([1, 2, 3, 4, 5]);
    expect(d.apply({ type: 'registerNode', commandId: cid(), id: 1, raftAddress: '127.0.0.1:7001', httpUrl: 'http://127.0.0.1:7101' })).toMatchObject({ ok: true, created: false, node: { registeredAtIndex: 1 } });
    expect(d.apply({ type: 'registerNode', commandId: cid(), id: 1, raftAddress: '10.0.0.1:9000', httpUrl: 'https://n1.example' })).toMatchObject({
      ok: true,
      created: false,
      node: { id: 1, raftAddress: '10.0.0.1:9000', httpUrl: 'https://n1.example', registeredAtIndex: d.index },
    });
    expect(d.applyJson({ type: 'registerNode', commandId: cid(), id: 6, raftAddress: 'nope', httpUrl: 'ftp://x' })).toMatchObject({ code: 'invalid', message: expect.stringMatching(/raftAddress.*httpUrl/) });
  });
});

describe('idempotency by commandId', () => {
  const create: MetaCommand = { type: 'createShard', commandId: 'create-north', key: north, replicas: [1] };

  it('a retry returns the first result and changes nothing', () => {
    const first = d.apply(create);
    const before = domain(sm);
    expect(d.apply(create)).toEqual(first);
    expect(domain(sm)).toEqual(before);
    // A refused command is remembered too: its retry gets the same refusal.
    const dup: MetaCommand = { type: 'createShard', commandId: 'dup', key: north, replicas: [2] };
    const refused = d.apply(dup);
    expect(refused).toMatchObject({ code: 'conflict' });
    d.apply({ type: 'dropShard', commandId: 'drop', shard: 's-north' });
    expect(d.apply(dup)).toEqual(refused);
  });

  it('reusing an id for a different command is a conflict', () => {
    d.apply(create);
    expect(d.apply({ ...create, replicas: [2] })).toMatchObject({ ok: false, code: 'conflict', message: expect.stringMatching(/already used for a different command/) });
  });

  it('survives snapshot and restore', () => {
    const first = d.apply(create);
    const restored = new MetaStateMachine();
    restored.restore(sm.snapshot());
    const r = new Driver(restored);
    r.index = d.index;
    expect(r.apply(create)).toEqual(first);
    expect(restored.shardMap().shards).toHaveLength(1);
  });

  it('remembers the last N ids, FIFO', () => {
    const small = new MetaStateMachine({ dedupEntriesMax: 3 });
    const s = new Driver(small);
    const reg = (n: number): MetaCommand => ({ type: 'registerNode', commandId: `r${n}`, id: n, raftAddress: `h:${n}`, httpUrl: `http://h${n}` });
    for (let n = 1; n <= 5; n++) expect(s.apply(reg(n))).toMatchObject({ created: true });
    expect(small.dedupSize).toBe(3);
    // r5..r3 are remembered (same result); r1 was evicted, so it is decided afresh.
    expect(s.apply(reg(5))).toMatchObject({ created: true, node: { registeredAtIndex: 5 } });
    expect(s.apply(reg(1))).toMatchObject({ created: false });
    expect(small.dedupSize).toBe(3);
    const restored = new MetaStateMachine({ dedupEntriesMax: 3 });
    restored.restore(small.snapshot());
    expect(restored.snapshot()).toEqual(small.snapshot());
  });
});

describe('invalid commands', () => {
  it('produce an invalid result and leave the state as it was', () => {
    d.apply({ type: 'createShard', commandId: cid(), key: north, replicas: [1] });
    const before = sm.state();
    const dedup = sm.dedupSize;
    const inputs: Uint8Array[] = [
      new Uint8Array([0xff, 0xfe]),
      new TextEncoder().encode('{not json'),
      new TextEncoder().encode('[]'),
      new TextEncoder().encode('{"type":"explode","commandId":"x"}'),
      new TextEncoder().encode('{"type":"createShard"}'),
      new TextEncoder().encode('{"type":"dropShard","commandId":"has space","shard":"s-north"}'),
      new TextEncoder().encode('{"type":"dropShard","commandId":"x","shard":"s-north","extra":true}'),
    ];
    for (const bytes of inputs) expect(d.applyBytes(bytes)).toMatchObject({ ok: false, code: 'invalid' });
    expect(d.applyJson({ type: 'explode', commandId: 'x' })).toMatchObject({ message: expect.stringMatching(/unknown meta command type "explode"; expected one of createShard/) });
    expect({ ...sm.state(), appliedIndex: before.appliedIndex }).toEqual(before);
    expect(sm.dedupSize).toBe(dedup);
  });

  it('an entry out of log order is a runtime bug and stops loudly', () => {
    expect(() => sm.apply({ index: d.index, term: 1, data: new Uint8Array() })).toThrow(/invariant/);
  });
});

describe('snapshot and restore', () => {
  function populate(driver: Driver<MetaResult>): void {
    register(driver, 1, 2, 3);
    driver.apply({ type: 'setCatalogue', commandId: 'cat1', catalogue: testCatalogueDocument(1, [{ id: 'x', effects: { order: 1 } }]) });
    driver.apply({ type: 'createShard', commandId: 'a', key: north, replicas: [3, 1] });
    driver.apply({ type: 'splitShard', commandId: 'b', shard: 's-north', key: northPolitical });
    driver.apply({ type: 'moveShard', commandId: 'c', shard: 's-north', replicas: [2, 3] });
  }

  it('round-trips the whole state, byte for byte', () => {
    populate(d);
    const bytes = sm.snapshot();
    const restored = new MetaStateMachine();
    restored.restore(bytes);
    expect(restored.state()).toEqual(sm.state());
    expect(restored.snapshot()).toEqual(bytes);
  });

  it('two replicas fed the same commands hold byte-identical snapshots', () => {
    const a = new MetaStateMachine();
    const b = new MetaStateMachine();
    populate(new Driver(a));
    populate(new Driver(b));
    expect(snapshotText(a)).toBe(snapshotText(b));
  });

  it('restores empty bytes as the initial state and refuses a corrupt snapshot', () => {
    populate(d);
    sm.restore(new Uint8Array());
    expect(sm.state()).toEqual(new MetaStateMachine().state());
    expect(() => sm.restore(new TextEncoder().encode('{"format":"nimmer/meta-state/v1"}'))).toThrow(/meta snapshot is invalid/);
    expect(() => sm.restore(new Uint8Array([0xff]))).toThrow(/not UTF-8 JSON/);
    const dupKeys = JSON.parse(snapshotText(new MetaStateMachine())) as { state: MetaState };
    const shard = { id: 'a', key: north, groupId: 100, replicas: [1], founders: [1], createdAtIndex: 1, state: 'active' };
    (dupKeys.state.shardMap as unknown as { shards: unknown[]; nextGroupId: number }).shards = [shard, { ...shard, id: 'b', groupId: 101 }];
    (dupKeys.state.shardMap as unknown as { nextGroupId: number }).nextGroupId = 102;
    expect(() => sm.restore(new TextEncoder().encode(JSON.stringify(dupKeys)))).toThrow(/appears twice/);
  });
});
