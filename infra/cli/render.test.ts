// What `nimmer status` and `nimmer equilibrium` print.
import { describe, expect, it } from 'vitest';
import { durationMsArg, membersArg, nodeArg, rateArg } from './cluster_commands.ts';
import { axisOffBy, faultTarget, renderEquilibrium, renderGlobalEquilibrium, renderStatus } from './render.ts';
import { renderTable } from './table.ts';

describe('tables', () => {
  it('aligns columns, right-aligns numbers, shows missing values as -', () => {
    expect(renderTable(['NAME', 'N'], [['a', 1], ['long-name', 123], ['c', null]])).toBe(
      ['NAME         N', 'a            1', 'long-name  123', 'c            -'].join('\n'),
    );
  });
});

describe('nimmer status', () => {
  it('prints nodes, shards with leaders, terms and commit indexes, faults, dependencies and health', () => {
    const text = renderStatus(
      {
        nodes: [{ id: 'n1', url: 'http://127.0.0.1:7101', alive: true, state: 'running', pid: 42, raft: '127.0.0.1:7201' }],
        shards: [{ id: 's-north', key: { geography: 'north', theme: '*', tier: '*', faction: '*' }, replicas: ['n1', 'n2', 'n3'], leader: null, term: 5, commitIndex: 123 }],
        meta: { leader: 'n1', term: 2, commitIndex: 9 },
        faults: [{ id: 'f1', type: 'pause', node: 'n2', since: 'then' }],
        postgres: 'postgres://nimmer@127.0.0.1:5433/nimmer',
        nats: ['nats://127.0.0.1:4223'],
      },
      { status: 'degraded', reasons: ['shard s-north has no leader'] },
    );
    expect(text).toContain('n1    running  yes     42  http://127.0.0.1:7101  127.0.0.1:7201');
    expect(text).toContain('s-north  north/*/*/*  n1,n2,n3  NONE       5     123');
    expect(text).toContain('meta group: leader n1, term 2, commit 9');
    expect(text).toContain('f1  pause  n2      then');
    expect(text).toContain('health:   degraded\n  - shard s-north has no leader');
  });

  it('prints the compositor pool and which districts deliver through the fallback', () => {
    const text = renderStatus(
      {
        nodes: [],
        pipeline: {
          compositors: { mode: 'autoscale', min: 1, max: 4, workers: 3, draining: 1, queueDepth: 17 },
          districts: { districts: [{ district: 'd0', mode: 'stream', active: true }, { district: 'd1', mode: 'fallback', active: true }], unserved: [] },
        },
      },
      null,
    );
    expect(text).toContain('compositors: 3 running, 1 draining (autoscale 1..4), queue depth 17');
    expect(text).toContain('districts:   2 coordinated, FALLBACK: d1');
  });
});

describe('nimmer equilibrium', () => {
  it('prints each axis with value, target, tolerance and how far outside the band it is', () => {
    const text = renderEquilibrium(
      {
        shard: 's-north',
        key: { geography: 'north', theme: '*', tier: '*', faction: '*' },
        term: 3,
        index: 17,
        catalogueVersion: 1,
        deviation: 0.03,
        axes: { order: { value: 42, target: 60, tolerance: 15 }, fear: { value: 25, target: 25, tolerance: 15 } },
      },
      'linearizable',
    );
    expect(text.split('\n')).toEqual([
      'shard s-north (north/*/*/*) · linearizable read at term 3, index 17 · catalogue v1 · deviation 0.030',
      'AXIS   VALUE  TARGET  TOLERANCE  OFF BY',
      'fear      25      25         15       0',
      'order     42      60         15       3  outside tolerance',
    ]);
    expect(axisOffBy({ value: 80, target: 60, tolerance: 15 })).toBe(5);
  });

  it('parses node and duration arguments', () => {
    expect(nodeArg('2')).toBe('n2');
    expect(nodeArg('n12')).toBe('n12');
    expect(() => nodeArg('node2')).toThrow(/like n2/);
    expect(durationMsArg('200ms')).toBe(200);
    expect(durationMsArg('1.5s')).toBe(1500);
    expect(durationMsArg('50')).toBe(50);
    expect(durationMsArg('2m')).toBe(120_000);
  });

  it('describes network faults in the status table', () => {
    expect(faultTarget({ type: 'partition', groups: [['n1'], ['n2', 'n3']] })).toBe('n1 | n2,n3');
    expect(faultTarget({ type: 'partition', from: ['n1'], to: ['n2'] })).toBe('n1 → n2');
    expect(faultTarget({ type: 'latency', from: ['n1'], to: ['n2'], ms: 200, jitterMs: 50, bidirectional: true })).toBe('n1 ↔ n2 200±50 ms');
    expect(faultTarget({ type: 'ring' })).toBe('ring all nodes');
  });

  it('parses fault members and rates', () => {
    expect(membersArg('n1,2,nats0')).toEqual(['n1', 'n2', 'nats0']);
    expect(() => membersArg('n1,postgres')).toThrow(/neither a node/);
    expect(rateArg('100kB/s')).toBe(100_000);
    expect(rateArg('1.5MB/s')).toBe(1_500_000);
    expect(rateArg('5000')).toBe(5000);
    expect(() => rateArg('fast')).toThrow(/not a rate/);
  });
});

describe('renderGlobalEquilibrium', () => {
  it('lists every shard axis and counter of the eventual view', () => {
    const out = renderGlobalEquilibrium({
      node: 'n2',
      shards: { 's-north': { axes: { order: { value: 70, target: 50, tolerance: 5 } }, term: 3, index: 40, ageMs: 1500 } },
      counters: { visits: 12 },
      freshness: { epoch: 1, connected: true, peers: { n1: { inSync: true }, n3: { inSync: false } } },
    });
    expect(out).toContain('eventual view of node n2 · NATS connected · in sync with 1/2 peers');
    expect(out).toMatch(/s-north\s+order\s+70\s+50\s+15\s+3\s+40\s+1\.5 s/);
    expect(out).toMatch(/visits\s+12/);
  });
  it('says when nothing has arrived yet', () => {
    expect(renderGlobalEquilibrium({ node: 'n1' })).toContain('no shard snapshot has reached this node yet');
  });
});
