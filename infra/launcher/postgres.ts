// A real Postgres for the local cluster: initdb on first start in `<dataDir>/postgres`,
// `postgres` run as a supervised child (not daemonised) on a remembered free loopback
// port, as an unprivileged OS user when the launcher is root. Or an existing server by URL.
import { execFile } from 'node:child_process';
import { chmod, chown, mkdir, readdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { findPostgresBinaries, type PostgresBinaries } from './binaries.ts';
import { sleep } from './http_probe.ts';
import { ancestorsOf, firstUnsearchableDir, isRoot, lookupUser, resolveServiceUser, type OsUser } from './os_user.ts';
import { allocatePorts, isPortFree, LOOPBACK, looksLikeAddressInUse, PortInUseError, retryOnPortInUse } from './ports.ts';
import {
  DEFAULT_POSTGRES_SETTINGS,
  INCLUDE_LINE,
  NIMMER_CONF_FILE,
  POSTGRES_DATABASE,
  POSTGRES_SUPERUSER,
  renderNimmerConf,
  renderPgHba,
  socketDirFor,
} from './postgres_config.ts';
import { isProcessAlive } from './proc_status.ts';
import { readState, updateState } from './state.ts';
import { Supervisor, type SupervisedProcess } from './supervisor.ts';

export interface PostgresOptions {
  dataDir: string;
  /** A fixed port (an error when taken). Default: the remembered one when free, else a free one. */
  port?: number;
  /** `--pg URL`: use this existing server instead of starting one. */
  url?: string;
  /** Shared launcher supervisor; a private one (logs in `<dataDir>/logs`) when absent. */
  supervisor?: Supervisor;
  /** OS user to run as when root. Default: the cluster dir's owner, else `nimmer` (created), else `postgres`. */
  osUser?: string;
  readyTimeoutMs?: number;
}

export interface Postgres {
  /** postgres://nimmer@127.0.0.1:<port>/nimmer (or the external URL). */
  url: string;
  host: string;
  port: number;
  database: string;
  user: string;
  external: boolean;
  /** The postmaster's PID; null when external or stopped. */
  readonly pid: number | null;
  /** The cluster directory (PGDATA); null when external. */
  clusterDir: string | null;
  /** The OS user the server runs as; null when external or not root. */
  osUser: string | null;
  /** Fast shutdown (SIGINT to the postmaster), waiting for it to exit. */
  stop(): Promise<void>;
}

export class PostgresStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PostgresStartError';
  }
}

const READY_TIMEOUT_MS_DEFAULT = 60_000;
// A fast shutdown writes a checkpoint; give it time before SIGKILL.
const STOP_GRACE_MS = 30_000;
const PROCESS_NAME = 'postgres';
const POLL_MS = 100;

/** `--pg` flag → options: `embedded` (default) or a postgres:// URL. */
export function parsePgFlag(flag: string): { url?: string } {
  return flag === 'embedded' || flag === '' ? {} : { url: flag };
}

export async function startPostgres(options: PostgresOptions): Promise<Postgres> {
  if (options.url !== undefined) return connectExternal(options.url);
  return startEmbedded(options);
}

// ---- external --------------------------------------------------------------------------

async function connectExternal(raw: string): Promise<Postgres> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new PostgresStartError(`--pg: '${raw}' is not a URL (expected postgres://user@host:port/db)`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new PostgresStartError(`--pg: '${raw}' must use postgres:// or postgresql://`);
  }
  if (url.hostname === '') throw new PostgresStartError(`--pg: '${raw}' names no host`);
  const port = url.port === '' ? 5432 : Number(url.port);
  const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || decodeURIComponent(url.username) || 'postgres';
  let bins: PostgresBinaries | null = null;
  try {
    bins = findPostgresBinaries();
  } catch {
    // Without pg_isready, no check is possible here; the first client connection will tell.
  }
  if (bins !== null) {
    const r = await run(bins.pgIsready, ['-d', raw, '-t', '5']);
    if (r.code !== 0) {
      throw new PostgresStartError(`--pg: the server at ${url.hostname}:${port} is not accepting connections (pg_isready: ${r.stdout.trim()})`);
    }
  }
  return {
    url: raw,
    host: url.hostname,
    port,
    database,
    user: decodeURIComponent(url.username),
    external: true,
    pid: null,
    clusterDir: null,
    osUser: null,
    stop: async () => undefined,
  };
}

// ---- embedded ----------------------------------------------------------------------

async function startEmbedded(options: PostgresOptions): Promise<Postgres> {
  const dataDir = path.resolve(options.dataDir);
  const clusterDir = path.join(dataDir, 'postgres');
  const bins = findPostgresBinaries();
  const supervisor = options.supervisor ?? new Supervisor({ logDir: path.join(dataDir, 'logs') });
  await mkdir(dataDir, { recursive: true });
  // A taken fixed port fails before the slow part (initdb).
  if (options.port !== undefined) await choosePort(options.port, undefined);

  const runAs = isRoot() ? await chooseOsUser(clusterDir, options.osUser) : undefined;
  if (runAs !== undefined) await ensureReachable(dataDir, clusterDir, runAs);
  await initClusterIfNeeded(bins, clusterDir, runAs, supervisor.logDir);
  await removeStalePidFile(clusterDir);

  const state = await readState(dataDir);
  const readyTimeoutMs = options.readyTimeoutMs ?? READY_TIMEOUT_MS_DEFAULT;
  const { proc, port } = await retryOnPortInUse(async (attempt) => {
    const port = await choosePort(options.port, attempt === 0 ? state.postgres?.port : undefined);
    await writeSettings(clusterDir, runAs, port);
    const proc = supervisor.spawn({
      name: PROCESS_NAME,
      command: bins.postgres,
      args: ['-D', clusterDir, '-p', String(port)],
      env: serverEnv(),
      runAs,
      // SIGINT = fast shutdown: roll back sessions, checkpoint, exit. Also the signal the
      // kernel sends if the launcher dies without stopping it.
      stopSignal: 'SIGINT',
      orphanSignal: 'SIGINT',
      stopGraceMs: STOP_GRACE_MS,
    });
    try {
      await waitAcceptingConnections(bins, proc, port, readyTimeoutMs);
    } catch (e) {
      await proc.stop(5_000);
      if (e instanceof PortInUseError && options.port !== undefined) {
        throw new PostgresStartError(`port ${options.port} is in use: ${e.message}`);
      }
      throw e;
    }
    return { proc, port };
  });

  await ensureDatabase(bins, port, POSTGRES_DATABASE);
  await updateState(dataDir, (s) => ({
    ...s,
    postgres: { port, ...(runAs !== undefined ? { osUser: runAs.name } : {}) },
  }));
  return {
    url: `postgres://${POSTGRES_SUPERUSER}@${LOOPBACK}:${port}/${POSTGRES_DATABASE}`,
    host: LOOPBACK,
    port,
    database: POSTGRES_DATABASE,
    user: POSTGRES_SUPERUSER,
    external: false,
    get pid() {
      return proc.running ? proc.pid : null;
    },
    clusterDir,
    osUser: runAs?.name ?? null,
    stop: async () => {
      await proc.stop();
    },
  };
}

async function choosePort(fixed: number | undefined, remembered: number | undefined): Promise<number> {
  if (fixed !== undefined) {
    if (!(await isPortFree(fixed))) throw new PostgresStartError(`port ${fixed} on ${LOOPBACK} is in use; pick another or omit it`);
    return fixed;
  }
  const [port] = await allocatePorts(1, [remembered]);
  return port as number;
}

/** The environment for Postgres binaries: ours, minus libpq variables that would redirect them. */
function serverEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('PG')) env[key] = value;
  }
  env.LC_ALL = 'C';
  return env;
}

/** As root: the existing cluster's owner (so data written by an earlier run stays readable), else a service user. */
async function chooseOsUser(clusterDir: string, preferred: string | undefined): Promise<OsUser> {
  if (preferred !== undefined) return resolveServiceUser(preferred);
  try {
    const owner = (await stat(clusterDir)).uid;
    if (owner !== 0) {
      const user = lookupUser(owner);
      if (user !== null) return user;
    }
  } catch {
    // No cluster yet.
  }
  return resolveServiceUser();
}

/**
 * The service user must be able to reach the cluster dir. The data dir is ours, so it
 * gets search permission for others (not listing); a blocking directory above it is the
 * user's to decide about, so we explain instead of changing it.
 */
async function ensureReachable(dataDir: string, clusterDir: string, user: OsUser): Promise<void> {
  const mode = (await stat(dataDir)).mode;
  if ((mode & 0o001) === 0 && firstUnsearchableDir(user, [dataDir]) !== null) {
    await chmod(dataDir, (mode & 0o7777) | 0o001);
  }
  const blocked = firstUnsearchableDir(user, ancestorsOf(dataDir));
  if (blocked !== null) {
    throw new PostgresStartError(
      `Postgres refuses to run as root, so it runs as the OS user '${user.name}', which cannot reach ` +
        `${clusterDir}: ${blocked} is not searchable by it. Either allow traversal (not listing) with ` +
        `\`chmod o+x ${blocked}\`, or use a data dir it can reach (--data /var/lib/nimmer), ` +
        'or an existing server (--pg postgres://…).',
    );
  }
}

async function initClusterIfNeeded(
  bins: PostgresBinaries,
  clusterDir: string,
  runAs: OsUser | undefined,
  logDir: string,
): Promise<void> {
  let entries: string[] = [];
  try {
    entries = await readdir(clusterDir);
  } catch {
    // Missing: created below.
  }
  const serverMajor = await postgresMajor(bins);
  if (entries.includes('PG_VERSION')) {
    const dataMajor = (await readFile(path.join(clusterDir, 'PG_VERSION'), 'utf8')).trim();
    if (dataMajor !== serverMajor) {
      throw new PostgresStartError(
        `${clusterDir} holds a Postgres ${dataMajor} cluster but the binaries in ${bins.binDir} are ` +
          `Postgres ${serverMajor}; install Postgres ${dataMajor} or remove ${clusterDir} to start afresh`,
      );
    }
    if (runAs !== undefined && (await stat(clusterDir)).uid !== runAs.uid) await chownTree(clusterDir, runAs);
    return;
  }
  if (entries.length > 0) {
    throw new PostgresStartError(
      `${clusterDir} is not empty but holds no Postgres cluster (no PG_VERSION; an interrupted initdb?); remove it to start afresh`,
    );
  }
  await mkdir(clusterDir, { recursive: true, mode: 0o700 });
  await chmod(clusterDir, 0o700);
  if (runAs !== undefined) await chown(clusterDir, runAs.uid, runAs.gid);
  const logFile = path.join(logDir, 'postgres-initdb.log');
  const r = await run(
    bins.initdb,
    [
      '-D', clusterDir,
      `--username=${POSTGRES_SUPERUSER}`,
      '--auth-local=trust',
      '--auth-host=trust',
      '--encoding=UTF8',
      '--locale=C',
      '--no-instructions',
    ],
    runAs,
    { LC_ALL: 'C' },
  );
  await writeFile(logFile, r.stdout + r.stderr);
  if (r.code !== 0) {
    throw new PostgresStartError(`initdb failed (exit ${String(r.code)}); see ${logFile}:\n${r.stderr.slice(-2000)}`);
  }
  const confFile = path.join(clusterDir, 'postgresql.conf');
  const conf = await readFile(confFile, 'utf8');
  if (!conf.includes(INCLUDE_LINE)) await writeFile(confFile, `${conf}\n${INCLUDE_LINE}\n`);
}

async function postgresMajor(bins: PostgresBinaries): Promise<string> {
  const r = await run(bins.postgres, ['--version']);
  const match = /(\d+)(?:\.\d+)?/.exec(r.stdout);
  if (match === null) throw new PostgresStartError(`cannot read the version of ${bins.postgres}: ${r.stdout}${r.stderr}`);
  return match[1] as string;
}

/** Gives the whole cluster dir to `user` (an explicitly chosen user other than the owner). */
async function chownTree(dir: string, user: OsUser): Promise<void> {
  await chown(dir, user.uid, user.gid);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const child = path.join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(child, user);
    else await chown(child, user.uid, user.gid);
  }
}

async function writeSettings(clusterDir: string, runAs: OsUser | undefined, port: number): Promise<void> {
  const files: Array<[string, string]> = [
    [path.join(clusterDir, 'pg_hba.conf'), renderPgHba()],
    [path.join(clusterDir, NIMMER_CONF_FILE), renderNimmerConf({ ...DEFAULT_POSTGRES_SETTINGS, socketDir: socketDirFor(clusterDir, port) })],
  ];
  for (const [file, text] of files) {
    await writeFile(file, text, { mode: 0o600 });
    if (runAs !== undefined) await chown(file, runAs.uid, runAs.gid);
  }
}

/**
 * postmaster.pid left by a server that no longer runs. Postgres clears it itself when that
 * PID is gone, but not when the PID is an unreaped zombie (kill(pid, 0) succeeds); a live
 * postmaster on the same dir is an error that says which PID holds it.
 */
async function removeStalePidFile(clusterDir: string): Promise<void> {
  const pidFile = path.join(clusterDir, 'postmaster.pid');
  let text: string;
  try {
    text = await readFile(pidFile, 'utf8');
  } catch {
    return;
  }
  const pid = Number(text.split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0 && isProcessAlive(pid)) {
    throw new PostgresStartError(
      `another Postgres (pid ${pid}) is running on ${clusterDir}; stop it first (kill -INT ${pid}) or use another --data`,
    );
  }
  await unlink(pidFile);
}

async function waitAcceptingConnections(
  bins: PostgresBinaries,
  proc: SupervisedProcess,
  port: number,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    if (!proc.running) {
      const tail = proc.logTail(3000);
      const message = `postgres exited before accepting connections (see ${proc.logFile}):\n${tail}`;
      throw looksLikeAddressInUse(tail) ? new PortInUseError(message) : new PostgresStartError(message);
    }
    const r = await run(bins.pgIsready, ['-h', LOOPBACK, '-p', String(port), '-U', POSTGRES_SUPERUSER, '-d', 'postgres', '-t', '2']);
    if (r.code === 0) {
      // pg_isready cannot tell whose server answered; the postmaster must still be ours.
      if (proc.running) return;
    }
    last = r.stdout.trim();
    if (Date.now() > deadline) {
      throw new PostgresStartError(`postgres did not accept connections within ${timeoutMs} ms (pg_isready: ${last}); see ${proc.logFile}`);
    }
    await sleep(POLL_MS);
  }
}

async function ensureDatabase(bins: PostgresBinaries, port: number, database: string): Promise<void> {
  const psql = (sql: string) =>
    run(bins.psql, ['-h', LOOPBACK, '-p', String(port), '-U', POSTGRES_SUPERUSER, '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-tAc', sql]);
  const exists = await psql(`SELECT 1 FROM pg_database WHERE datname = '${database}'`);
  if (exists.code !== 0) throw new PostgresStartError(`cannot query the new server: ${exists.stderr}`);
  if (exists.stdout.trim() === '1') return;
  const created = await psql(`CREATE DATABASE "${database}"`);
  if (created.code !== 0) throw new PostgresStartError(`CREATE DATABASE ${database} failed: ${created.stderr}`);
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a short-lived command (optionally as another user) and collects its output. */
function run(command: string, args: readonly string[], runAs?: OsUser, extraEnv: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      command,
      [...args],
      {
        env: { ...serverEnv(), ...extraEnv },
        encoding: 'utf8',
        maxBuffer: 16 * 1024 * 1024,
        ...(runAs !== undefined ? { uid: runAs.uid, gid: runAs.gid, cwd: '/' } : {}),
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
