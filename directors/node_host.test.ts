import { describe, expect, it } from 'vitest';
import { defaultCatalogue } from '../catalogue/index.ts';
import { MemoryRegisterStore } from './memory_register_store.ts';
import { DirectorNodeHost, type HostedShardView, type ShardEventView } from './node_host.ts';
import { DirectorSupervisor } from './supervisor.ts';
import { eventually, RecordingGateway } from './testing/recording_gateway.ts';

const catalogue = defaultCatalogue();
const e = (status: 'active' | 'resolved' = 'active'): ShardEventView => ({ template: 'market_festival', district: 'square', participants: ['p1'], catalogueVersion: 1, status });
const shard = (id: string, leaderTerm: number | null, version: number, events: Record<string, ShardEventView>): HostedShardView => ({ id, leaderTerm, version, events: () => Object.entries(events) });

function setup() {
  const store = new MemoryRegisterStore();
  const gateway = new RecordingGateway();
  const sup = new DirectorSupervisor({ store, gateway, catalogue: () => catalogue, config: { restartDelayMs: 0, composedPollMs: 10 } });
  return { store, gateway, sup, host: new DirectorNodeHost(sup, { escalationBackoffMs: 1_000 }) };
}

describe('DirectorNodeHost', () => {
  it('starts a routine per active event of the shards this node leads, once', () => {
    const { sup, host } = setup();
    const shards = [shard('s-a', 4, 10, { 'ev-1': e(), 'ev-2': e() }), shard('s-b', null, 3, { 'ev-3': e() })];
    expect(host.reconcile(shards)).toBe(2);
    expect(host.reconcile(shards)).toBe(0);
    expect([sup.isLive('ev-1'), sup.isLive('ev-2'), sup.isLive('ev-3')]).toEqual([true, true, false]);
    expect(sup.termOf('s-a')).toBe(4);
    sup.close();
  });

  it('stops a shard\'s routines on leadership loss and resumes them under the new term when leading again', async () => {
    const { sup, host, store } = setup();
    host.reconcile([shard('s-a', 4, 10, { 'ev-1': e() })]);
    await eventually(() => store.rows.has('ev-1'), 2_000, 'register row');
    host.reconcile([shard('s-a', null, 10, { 'ev-1': e() })]);
    expect(sup.isLive('ev-1')).toBe(false);
    expect(store.rows.has('ev-1')).toBe(true); // left for the next leader
    host.reconcile([shard('s-a', 6, 11, { 'ev-1': e() })]);
    expect(sup.isLive('ev-1')).toBe(true);
    await eventually(() => store.rows.get('ev-1')?.term === 6, 2_000, 'adoption under term 6');
    sup.close();
  });

  it('an event already resolved on the shard is started as resolved (pruned and closed, never composed again)', async () => {
    const { gateway, host, sup } = setup();
    host.reconcile([shard('s-a', 2, 5, { 'ev-r': e('resolved') })]);
    await eventually(() => gateway.closed.has('ev-r'), 2_000, 'close');
    expect(gateway.outcomes.size).toBe(0);
    sup.close();
  });

  it('a shard that disappears from the hosted set has its routines stopped', () => {
    const { sup, host } = setup();
    host.reconcile([shard('s-a', 2, 5, { 'ev-x': e() })]);
    host.reconcile([]);
    expect(sup.isLive('ev-x')).toBe(false);
    sup.close();
  });

  it('after an escalation, waits out the backoff before starting the shard again', () => {
    let now = 0;
    const store = new MemoryRegisterStore();
    const sup = new DirectorSupervisor({ store, gateway: new RecordingGateway(), catalogue: () => catalogue });
    const host = new DirectorNodeHost(sup, { escalationBackoffMs: 1_000, nowMs: () => now });
    host.escalated('s-a');
    expect(host.reconcile([shard('s-a', 1, 1, { 'ev-b': e() })])).toBe(0);
    now = 1_000;
    expect(host.reconcile([shard('s-a', 1, 1, { 'ev-b': e() })])).toBe(1);
    sup.close();
  });
});
