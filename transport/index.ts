// The transport's public API: UID → subject today; publish SQL, relay, streams, player client and
// the district fallback as they land.
export { canonSubject, EVENTS_PREFIX, EVENTS_STREAM, EVENTS_SUBJECTS, sceneUidOfSubject, SUBJECT_ROOT, subjectFilterFor } from './subject.ts';
export { CanonMessageSchema, RETENTION_CLASSES, type CanonMessage, type RetentionClass } from './canon.ts';
export { migrate, TRANSPORT_MIGRATIONS, type MigrationSet } from './sql/migrate.ts';
export * from './player/index.ts';
export * from './district/index.ts';
