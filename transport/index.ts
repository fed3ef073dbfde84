// The transport's public API: UID → subject today; publish SQL, relay, streams, player client and
// the district fallback as they land.
export { canonSubject, EVENTS_PREFIX, EVENTS_STREAM, EVENTS_SUBJECTS, sceneUidOfSubject, SUBJECT_ROOT, subjectFilterFor } from './subject.ts';
