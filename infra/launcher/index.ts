// The local cluster launcher's public API: the real dependency processes (Postgres,
// nats-server) and the process supervisor every later launcher part builds on.
export { findNatsServer, findPostgresBinaries, MissingBinaryError, type PostgresBinaries } from './binaries.ts';
export { parseNatsFlag, startNats, NatsStartError, type Nats, type NatsMode, type NatsOptions, type NatsServer } from './nats.ts';
export { natsServerName, ringRoutePeer } from './nats_config.ts';
export { parsePgFlag, startPostgres, PostgresStartError, type Postgres, type PostgresOptions } from './postgres.ts';
export { allocatePorts, freePort, isPortFree, LOOPBACK, PortInUseError, retryOnPortInUse, waitForTcp } from './ports.ts';
export { isProcessAlive, waitForProcessGone } from './proc_status.ts';
export { readState, updateState, writeState, type LauncherState } from './state.ts';
export {
  addShutdownHook,
  SupervisedProcess,
  Supervisor,
  type BinarySpec,
  type ExitInfo,
  type SupervisorOptions,
  type TsSpec,
} from './supervisor.ts';
export { detectOrphanGuard, type OrphanGuardKind } from './orphan_guard.ts';
