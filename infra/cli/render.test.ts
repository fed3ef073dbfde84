// What `nimmer status` and `nimmer equilibrium` print.
import { describe, expect, it } from 'vitest';
import { durationMsArg, nodeArg } from './cluster_commands.ts';
import { axisOffBy, renderEquilibrium, renderStatus } from './render.ts';
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
});
