// The pure unfolding of a committed event into districts, scenes and slots, from its catalogue
// template. Deterministic: the same event and catalogue always give the same unfolding, so a
// respawned routine (or another node's) writes exactly what the first one did.
//
// Districts are the distribution units of an event: its own district first, and, when it has more
// participants than one district serves, overflow districts `<district>-2`, `<district>-3`, … taking
// the participants in their given order. Every district plays every scene of the template.
import { catalogueIndex, isValidToken, type Catalogue, type EventTemplate, type ModelTier, type SlotKind } from '../catalogue/index.ts';
import { directorLimits } from './limits.ts';

/** An event as the GM state machine committed it (the directors' input). */
export interface CommittedEvent {
  /** The gm_event token (`ev-…`). */
  readonly uid: string;
  readonly shard: string;
  readonly template: string;
  readonly district: string;
  readonly participants: readonly string[];
  readonly catalogueVersion: number;
  readonly effects?: Readonly<Record<string, number>>;
}

export interface UnfoldedSlot {
  readonly uid: string;
  readonly slot: string;
  readonly kind: SlotKind;
  readonly modelTier: ModelTier;
}

export interface UnfoldedScene {
  readonly uid: string;
  readonly scene: string;
  readonly title: string;
  readonly slots: readonly UnfoldedSlot[];
}

export interface UnfoldedDistrict {
  readonly uid: string;
  readonly district: string;
  readonly participants: readonly string[];
  readonly scenes: readonly UnfoldedScene[];
}

export interface Unfolding {
  readonly eventUid: string;
  readonly template: string;
  readonly templateTitle: string;
  readonly catalogueVersion: number;
  readonly districts: readonly UnfoldedDistrict[];
  readonly slotCount: number;
}

export interface UnfoldOptions {
  readonly participantsPerDistrict?: number;
}

export class UnfoldError extends Error {
  override readonly name = 'UnfoldError';
}

/** The template an event names, or an UnfoldError saying why it cannot be unfolded. */
export function templateFor(event: CommittedEvent, catalogue: Catalogue): EventTemplate {
  const template = catalogueIndex(catalogue).templates.get(event.template);
  if (template === undefined) {
    throw new UnfoldError(
      `event ${event.uid}: template '${event.template}' is not in catalogue version ${catalogue.version} (the event was proposed under version ${event.catalogueVersion}); it cannot be directed`,
    );
  }
  return template;
}

/** The district names of an event with `count` districts: its own, then `<district>-2`, … (each a valid UID token). */
export function districtNames(district: string, count: number): string[] {
  const names = [district];
  for (let i = 2; i <= count; i++) {
    const suffix = `-${i}`;
    names.push(district.slice(0, 64 - suffix.length) + suffix);
  }
  return names;
}

export function unfoldEvent(event: CommittedEvent, catalogue: Catalogue, options: UnfoldOptions = {}): Unfolding {
  const perDistrict = options.participantsPerDistrict ?? directorLimits.participantsPerDistrictDefault;
  if (!Number.isInteger(perDistrict) || perDistrict < 1 || perDistrict > directorLimits.participantsPerDistrictMax) {
    throw new UnfoldError(`participantsPerDistrict must be an integer in 1..${directorLimits.participantsPerDistrictMax}, got ${perDistrict}`);
  }
  const template = templateFor(event, catalogue);
  const districtCount = Math.max(1, Math.ceil(event.participants.length / perDistrict));
  if (districtCount > directorLimits.districtsPerEventMax) {
    throw new UnfoldError(`event ${event.uid} would unfold into ${districtCount} districts (at most ${directorLimits.districtsPerEventMax}); raise participantsPerDistrict`);
  }
  const names = districtNames(event.district, districtCount);
  if (names.length > 1 && new Set(names).size !== names.length) throw new UnfoldError(`event ${event.uid}: district names collide after truncation: ${names.join(', ')}`);
  if (!isValidToken(event.uid)) throw new UnfoldError(`event UID '${event.uid}' is not a UID token`);
  const districts = names.map((district, i): UnfoldedDistrict => {
    if (!isValidToken(district)) throw new UnfoldError(`event ${event.uid}: district '${district}' is not a UID token`);
    // Scene and slot ids are catalogue ids, valid UID tokens by construction.
    const districtUid = `${event.uid}.${district}`;
    return {
      uid: districtUid,
      district,
      participants: event.participants.slice(i * perDistrict, (i + 1) * perDistrict),
      scenes: template.scenes.map((s) => {
        const sceneUid = `${districtUid}.${s.id}`;
        return { uid: sceneUid, scene: s.id, title: s.title, slots: s.slots.map((sl) => ({ uid: `${sceneUid}.${sl.id}`, slot: sl.id, kind: sl.kind, modelTier: sl.modelTier })) };
      }),
    };
  });
  let slotsPerDistrict = 0;
  for (const s of template.scenes) slotsPerDistrict += s.slots.length;
  const slotCount = districts.length * slotsPerDistrict;
  let assigned = 0;
  for (const d of districts) assigned += d.participants.length;
  if (assigned !== event.participants.length) throw new Error(`invariant: unfolding assigned ${assigned} of ${event.participants.length} participants`);
  return { eventUid: event.uid, template: template.id, templateTitle: template.title, catalogueVersion: catalogue.version, districts, slotCount };
}
