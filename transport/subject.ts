// UID → NATS subject, in one place (the SQL twin lives in transport's migrations; a test proves
// they agree for every UID form). Canon is published per scene:
//   nimmerverse.events.<gm_event>.district.<district>.scene.<scene>
// Coarser UIDs map to the wildcard subject that covers everything beneath them, for subscribing.
import { isValidToken, parseUid, type ParsedUid } from '../catalogue/index.ts';

export const SUBJECT_ROOT = 'nimmerverse';
export const EVENTS_PREFIX = `${SUBJECT_ROOT}.events`;
/** The subjects of the JetStream stream that holds canon (API.md: stream `EVENTS`). */
export const EVENTS_SUBJECTS = `${EVENTS_PREFIX}.>`;
export const EVENTS_STREAM = 'EVENTS';

/** The subject a scene's canon is published on. The UID must name a scene or a slot (slots share their scene's subject). */
export function canonSubject(uid: string | ParsedUid): string {
  const u = typeof uid === 'string' ? parseUid(uid) : uid;
  if (u.district === undefined || u.scene === undefined) {
    throw new Error(`canon is published per scene: "${formatForError(u)}" names a ${u.level}, expected <gmEvent>.<district>.<scene>[.<slot>]`);
  }
  return `${EVENTS_PREFIX}.${u.gmEvent}.district.${u.district}.scene.${u.scene}`;
}

/**
 * The subject filter that covers every scene under a UID: an event → all its districts and scenes,
 * a district → its scenes, a scene or slot → that scene's subject exactly.
 */
export function subjectFilterFor(uid: string | ParsedUid): string {
  const u = typeof uid === 'string' ? parseUid(uid) : uid;
  if (u.district === undefined) return `${EVENTS_PREFIX}.${u.gmEvent}.district.*.scene.*`;
  if (u.scene === undefined) return `${EVENTS_PREFIX}.${u.gmEvent}.district.${u.district}.scene.*`;
  return canonSubject(u);
}

/**
 * The subject filter that covers every event's canon in one district:
 * `nimmerverse.events.*.district.<district>.scene.*`. A player who lives in a district subscribes
 * once with it instead of once per event it takes part in (see transport/player/README.md).
 */
export function districtSubjectFilter(district: string): string {
  if (!isValidToken(district)) throw new Error(`district '${district}' is not a UID token (letters, digits, '-' and '_')`);
  return `${EVENTS_PREFIX}.*.district.${district}.scene.*`;
}

/** The scene UID a canon subject carries, or null when the subject is not a canon subject. */
export function sceneUidOfSubject(subject: string): string | null {
  const t = subject.split('.');
  if (t.length !== 7 || t[0] !== SUBJECT_ROOT || t[1] !== 'events' || t[3] !== 'district' || t[5] !== 'scene') return null;
  const uid = `${t[2]}.${t[4]}.${t[6]}`;
  try {
    parseUid(uid);
  } catch {
    return null;
  }
  return uid;
}

function formatForError(u: ParsedUid): string {
  return [u.gmEvent, u.district, u.scene, u.slot].filter((x) => x !== undefined).join('.');
}
