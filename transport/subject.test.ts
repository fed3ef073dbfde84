import { describe, expect, it } from 'vitest';
import { canonSubject, sceneUidOfSubject, subjectFilterFor } from './subject.ts';

describe('UID → subject', () => {
  it('maps a scene and a slot to the scene subject', () => {
    expect(canonSubject('ev-7af2.d9c1.s3e8')).toBe('nimmerverse.events.ev-7af2.district.d9c1.scene.s3e8');
    expect(canonSubject('ev-7af2.d9c1.s3e8.slot1')).toBe('nimmerverse.events.ev-7af2.district.d9c1.scene.s3e8');
  });
  it('refuses an event or district UID for canon, and malformed UIDs', () => {
    expect(() => canonSubject('ev-7af2')).toThrow(/per scene/);
    expect(() => canonSubject('ev-7af2.d1')).toThrow(/per scene/);
    expect(() => canonSubject('ev 7af2.d.s')).toThrow();
    expect(() => canonSubject('ev.*.s')).toThrow();
  });
  it('gives wildcard filters for coarser UIDs', () => {
    expect(subjectFilterFor('ev-1')).toBe('nimmerverse.events.ev-1.district.*.scene.*');
    expect(subjectFilterFor('ev-1.d2')).toBe('nimmerverse.events.ev-1.district.d2.scene.*');
    expect(subjectFilterFor('ev-1.d2.s3')).toBe('nimmerverse.events.ev-1.district.d2.scene.s3');
  });
  it('reads the scene UID back from a canon subject', () => {
    expect(sceneUidOfSubject('nimmerverse.events.ev-1.district.d2.scene.s3')).toBe('ev-1.d2.s3');
    expect(sceneUidOfSubject('nimmerverse.district.d2.event.ev-1.scene.s3')).toBeNull();
    expect(sceneUidOfSubject('nimmerverse.events.ev-1.district.d2.scene')).toBeNull();
  });
});
