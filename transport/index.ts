// The transport's public API: UID → subject, the canon message, the SQL install (migrations + relay slot),
// the relay, the streams configuration.
export { canonSubject, districtSubjectFilter, EVENTS_PREFIX, EVENTS_STREAM, EVENTS_SUBJECTS, sceneUidOfSubject, SUBJECT_ROOT, subjectFilterFor } from './subject.ts';
export { CanonMessageSchema, RETENTION_CLASSES, type CanonMessage, type RetentionClass } from './canon.ts';
export { migrate, TRANSPORT_MIGRATIONS, type MigrationSet } from './sql/migrate.ts';
export { installTransport, RELAY_SLOT_DEFAULT } from './install.ts';
export { Relay, type RelayLogger, type RelayRole, type RelayStats } from './relay/relay.ts';
export { RelayConfigSchema, type RelayConfig, type RelayConfigInput } from './relay/config.ts';
export { repairJournalRange, pruneJournal, type RepairOptions, type RepairReport } from './relay/journal.ts';
export { formatLsn, lsnOfMsgId, msgIdOf, parseLsn, type Lsn } from './relay/lsn.ts';
export { serveRelayMetrics } from './relay/metrics_http.ts';
export { StageTrace, type StageTraceRows } from './relay/stage_trace.ts';
export { scanStream, type StoredMessage } from './relay/stream_scan.ts';
export {
  DISTRICT_FEED_PREFIX,
  DISTRICT_REPUBLISH,
  DISTRICTS_STREAM,
  districtFeedSubject,
  StreamDeclSchema,
  transportStreams,
  type StreamDecl,
  type StreamDeclInput,
  type TransportStreamsOptions,
} from './streams/config.ts';
export { applyStreams, StreamConfigError, toStreamConfig, type ApplyAction } from './streams/apply.ts';
export { publishLoad, type LoadOptions } from './testing/load.ts';
export * from './player/index.ts';
export * from './district/index.ts';
