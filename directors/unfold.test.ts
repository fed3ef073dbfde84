import { describe, expect, it } from 'vitest';
import { defaultCatalogue, parseUid } from '../catalogue/index.ts';
import { districtNames, unfoldEvent, UnfoldError, type CommittedEvent } from './unfold.ts';

const catalogue = defaultCatalogue();
const event = (over: Partial<CommittedEvent> = {}): CommittedEvent => ({
  uid: 'ev-aaaabbbbccccdddd',
  shard: 's-north',
  template: 'coronation',
  district: 'old_harbour',
  participants: ['p1', 'p2', 'p3', 'p4'],
  catalogueVersion: catalogue.version,
  ...over,
});

describe('unfoldEvent', () => {
  it('plays every scene and slot of the template, in order, in the event district', () => {
    const u = unfoldEvent(event(), catalogue);
    const t = catalogue.templates.find((x) => x.id === 'coronation')!;
    expect(u.districts).toHaveLength(1);
    const d = u.districts[0]!;
    expect(d.uid).toBe('ev-aaaabbbbccccdddd.old_harbour');
    expect(d.participants).toEqual(['p1', 'p2', 'p3', 'p4']);
    expect(d.scenes.map((s) => s.scene)).toEqual(t.scenes.map((s) => s.id));
    expect(d.scenes[0]!.slots.map((s) => [s.slot, s.kind, s.modelTier])).toEqual(t.scenes[0]!.slots.map((s) => [s.id, s.kind, s.modelTier]));
    expect(u.slotCount).toBe(t.scenes.reduce((n, s) => n + s.slots.length, 0));
    // Every UID parses and names its level.
    for (const s of d.scenes) {
      expect(parseUid(s.uid)).toMatchObject({ level: 'scene', gmEvent: 'ev-aaaabbbbccccdddd', district: 'old_harbour', scene: s.scene });
      for (const sl of s.slots) expect(parseUid(sl.uid)).toMatchObject({ level: 'slot', scene: s.scene, slot: sl.slot });
    }
  });

  it('is deterministic: the same event gives an identical unfolding', () => {
    expect(JSON.stringify(unfoldEvent(event(), catalogue))).toBe(JSON.stringify(unfoldEvent(event(), catalogue)));
  });

  it('splits a crowd into overflow districts, participants in order, none lost or repeated', () => {
    const participants = Array.from({ length: 120 }, (_, i) => `p${i}`);
    const u = unfoldEvent(event({ participants }), catalogue, { participantsPerDistrict: 50 });
    expect(u.districts.map((d) => d.district)).toEqual(['old_harbour', 'old_harbour-2', 'old_harbour-3']);
    expect(u.districts.map((d) => d.participants.length)).toEqual([50, 50, 20]);
    expect(u.districts.flatMap((d) => d.participants)).toEqual(participants);
    expect(u.slotCount).toBe(3 * u.districts[0]!.scenes.reduce((n, s) => n + s.slots.length, 0));
  });

  it('keeps overflow district names valid UID tokens when the district is at the length limit', () => {
    const long = 'd'.repeat(64);
    const names = districtNames(long, 12);
    expect(names[11]).toHaveLength(64);
    expect(names[11]!.endsWith('-12')).toBe(true);
    expect(new Set(names).size).toBe(12);
  });

  it('an event without participants still unfolds into its own district', () => {
    const u = unfoldEvent(event({ participants: [] }), catalogue);
    expect(u.districts).toHaveLength(1);
    expect(u.districts[0]!.participants).toEqual([]);
  });

  it('a template the catalogue does not hold is an UnfoldError naming it and the versions', () => {
    expect(() => unfoldEvent(event({ template: 'no_such_template' }), catalogue)).toThrow(UnfoldError);
    expect(() => unfoldEvent(event({ template: 'no_such_template' }), catalogue)).toThrow(/no_such_template.*version/);
  });
});
