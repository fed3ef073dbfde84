// The live status line of `nimmer up`: what it says about nodes, leaders, terms and commits.
import { describe, expect, it } from 'vitest';
import type { ClusterView } from '../controller/index.ts';
import { formatStatusLine } from './status_line.ts';

const view: ClusterView = {
  nodes: [
    { id: 'n1', url: 'http://127.0.0.1:1', alive: true, state: 'running', pid: 1, raft: '127.0.0.1:2' },
    { id: 'n2', url: 'http://127.0.0.1:3', alive: false, state: 'killed', pid: null, raft: '127.0.0.1:4' },
  ],
  shards: [
    { id: 's-north', key: {}, replicas: ['n1', 'n2'], state: 'active', leader: 'n1', term: 4, commitIndex: 10 },
    { id: 's-south', key: {}, replicas: ['n1', 'n2'], state: 'active', leader: null, term: 7, commitIndex: 5 },
  ],
  meta: { leader: 'n1', term: 3, commitIndex: 20 },
  faults: [{ id: 'f1', type: 'kill', node: 'n2', since: '2026-01-01T00:00:00.000Z' }],
  postgres: 'postgres://x',
  nats: ['nats://y'],
  dependencies: [{ name: 'postgres', up: true }, { name: 'nats-0', up: false }],
  pipeline: null,
  problems: [],
};

describe('formatStatusLine', () => {
  it('counts live nodes, shards with leaders, the highest term, the shards’ commits, faults and dependencies down', () => {
    const line = formatStatusLine(view, new Date('2026-01-01T12:34:56'));
    expect(line).toBe(
      '[12:34:56] nodes 1/2 up (n2 killed) · shards 1/2 with leaders · meta leader n1 · max term 7 · commits 15 · faults 1 · DOWN: nats-0',
    );
  });
});
