import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findPostgresBinaries, MissingBinaryError } from './binaries.ts';
import { detectOrphanGuard } from './orphan_guard.ts';
import { isRoot, lookupUser } from './os_user.ts';
import { freePort } from './ports.ts';
import { parsePgFlag, startPostgres, type Postgres } from './postgres.ts';
import { isProcessAlive, waitForProcessGone } from './proc_status.ts';
import { readState } from './state.ts';
import { Supervisor } from './supervisor.ts';
import { killAll, makeTempDir, removeDir, startLauncherParent } from './testdata/helpers.ts';

const bins = findPostgresBinaries();
let dataDir: string;
let supervisor: Supervisor;
let pg: Postgres;
const strayPids = new Set<number>();

function psql(port: number, sql: string, database = 'nimmer'): string {
  return execFileSync(bins.psql, ['-h', '127.0.0.1', '-p', String(port), '-U', 'nimmer', '-d', database, '-v', 'ON_ERROR_STOP=1', '-tAc', sql], {
    encoding: 'utf8',
  }).trim();
}

async function start(): Promise<Postgres> {
  pg = await startPostgres({ dataDir, supervisor });
  if (pg.pid !== null) strayPids.add(pg.pid);
  return pg;
}

// One cluster for the whole file: initdb takes a few seconds.
beforeAll(async () => {
  dataDir = makeTempDir('pg');
  supervisor = new Supervisor({ logDir: path.join(dataDir, 'logs'), handleSignals: false });
  await start();
});

afterAll(async () => {
  await supervisor?.stopAll();
  killAll(strayPids);
  removeDir(dataDir);
});

describe('startPostgres (embedded)', () => {
  it('accepts connections on loopback, with the nimmer database and wal_level=logical', () => {
    expect(pg.url).toBe(`postgres://nimmer@127.0.0.1:${pg.port}/nimmer`);
    expect(psql(pg.port, 'select 1')).toBe('1');
    expect(psql(pg.port, 'SHOW wal_level')).toBe('logical');
    expect(psql(pg.port, 'SHOW listen_addresses')).toBe('127.0.0.1');
    expect(psql(pg.port, 'SHOW fsync')).toBe('on');
    expect(Number(psql(pg.port, 'SHOW max_replication_slots'))).toBeGreaterThanOrEqual(10);
    expect(Number(psql(pg.port, 'SHOW max_wal_senders'))).toBeGreaterThanOrEqual(10);
    expect(psql(pg.port, 'SHOW server_encoding')).toBe('UTF8');
    expect(psql(pg.port, 'SHOW unix_socket_directories')).toBe(pg.clusterDir);
    expect(psql(pg.port, 'select current_database()')).toBe('nimmer');
  });

  it('runs as an unprivileged OS user when the launcher is root, owning the cluster dir', () => {
    const owner = execFileSync('ps', ['-o', 'user=', '-p', String(pg.pid)], { encoding: 'utf8' }).trim();
    if (!isRoot()) {
      expect(pg.osUser).toBeNull();
      return;
    }
    expect(pg.osUser).not.toBeNull();
    expect(owner).toBe(pg.osUser);
    expect(owner).not.toBe('root');
    const user = lookupUser(pg.osUser as string);
    expect(user?.uid).not.toBe(0);
    expect(statSync(pg.clusterDir as string).uid).toBe(user?.uid);
    expect(statSync(pg.clusterDir as string).mode & 0o777).toBe(0o700);
  });

  it('logs to logs/postgres.log and remembers its port in the data dir state', async () => {
    expect(readFileSync(path.join(dataDir, 'logs', 'postgres.log'), 'utf8')).toContain('database system is ready to accept connections');
    const state = await readState(dataDir);
    expect(state.postgres?.port).toBe(pg.port);
  });

  it('stops with a fast shutdown and restarts on the same dir and port with the data intact', async () => {
    psql(pg.port, 'CREATE TABLE canon (id int primary key, body text)');
    psql(pg.port, "INSERT INTO canon VALUES (1, 'the gate opens')");
    const { port, pid } = pg;
    await pg.stop();
    expect(pg.pid).toBeNull();
    expect(isProcessAlive(pid as number)).toBe(false);
    expect(existsSync(path.join(pg.clusterDir as string, 'postmaster.pid'))).toBe(false);
    expect(readFileSync(path.join(dataDir, 'logs', 'postgres.log'), 'utf8')).toContain('database system is shut down');

    await start();
    expect(pg.port).toBe(port);
    expect(psql(pg.port, 'SELECT body FROM canon WHERE id = 1')).toBe('the gate opens');
  });

  it('refuses a fixed port that is taken, saying which', async () => {
    const blocker = net.createServer();
    const port = await freePort();
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', r));
    try {
      const other = makeTempDir('pg-port');
      await expect(startPostgres({ dataDir: other, port, supervisor: new Supervisor({ logDir: path.join(other, 'logs'), handleSignals: false }) })).rejects.toThrow(
        `port ${port} on 127.0.0.1 is in use`,
      );
      removeDir(other);
    } finally {
      blocker.close();
    }
  });

  it.runIf(isRoot())('explains, before initdb, a data dir the unprivileged user cannot reach', async () => {
    const locked = makeTempDir('pg-locked'); // mode 0700, owned by root
    try {
      const inner = path.join(locked, 'data');
      await expect(startPostgres({ dataDir: inner, supervisor: new Supervisor({ logDir: path.join(inner, 'logs'), handleSignals: false }) })).rejects.toThrow(
        new RegExp(`cannot reach ${inner}/postgres: ${locked} is not searchable.*chmod o\\+x ${locked}`),
      );
      expect(existsSync(path.join(inner, 'postgres'))).toBe(false);
    } finally {
      removeDir(locked);
    }
  });

  it('refuses to start a second server on a dir whose postmaster still runs', async () => {
    await expect(startPostgres({ dataDir, supervisor: new Supervisor({ logDir: path.join(dataDir, 'logs2'), handleSignals: false }) })).rejects.toThrow(
      new RegExp(`another Postgres \\(pid ${pg.pid}\\) is running`),
    );
  });

  it('leaves no postmaster behind when the launcher that started it is SIGKILLed', async () => {
    await pg.stop();
    const parent = await startLauncherParent(dataDir, detectOrphanGuard(), 'idle', ['postgres']);
    const postmaster = parent.pids.postgres as number;
    strayPids.add(postmaster);
    expect(isProcessAlive(postmaster)).toBe(true);
    parent.child.kill('SIGKILL');
    await parent.exited;
    // The kernel's death signal is SIGINT: a fast shutdown, so the next start needs no recovery.
    expect(await waitForProcessGone(postmaster, 5_000)).toBe(true);
    await start();
    expect(psql(pg.port, 'SELECT count(*) FROM canon')).toBe('1');
    expect(readFileSync(path.join(dataDir, 'logs', 'postgres.log'), 'utf8')).not.toContain('was interrupted');
  });
});

describe('startPostgres (external)', () => {
  it('returns a reachable server’s URL as it is, and starts nothing', async () => {
    const external = await startPostgres({ dataDir, url: pg.url });
    expect(external).toMatchObject({ url: pg.url, port: pg.port, host: '127.0.0.1', database: 'nimmer', user: 'nimmer', external: true, pid: null });
    await external.stop();
    expect(psql(pg.port, 'select 1')).toBe('1');
  });

  it('rejects a malformed URL, a wrong scheme and an unreachable server with a clear error', async () => {
    await expect(startPostgres({ dataDir, url: 'not a url' })).rejects.toThrow(/is not a URL/);
    await expect(startPostgres({ dataDir, url: 'mysql://x@127.0.0.1/db' })).rejects.toThrow(/postgres:\/\//);
    const nobody = await freePort();
    await expect(startPostgres({ dataDir, url: `postgres://nimmer@127.0.0.1:${nobody}/nimmer` })).rejects.toThrow(/not accepting connections/);
  });

  it('parses the --pg flag', () => {
    expect(parsePgFlag('embedded')).toEqual({});
    expect(parsePgFlag('postgres://u@h:1/d')).toEqual({ url: 'postgres://u@h:1/d' });
  });
});

describe('findPostgresBinaries', () => {
  it('finds initdb, postgres, pg_isready and psql from one installation', () => {
    for (const file of [bins.initdb, bins.postgres, bins.pgIsready, bins.psql]) expect(path.dirname(file)).toBe(bins.binDir);
    expect(spawnSync(bins.postgres, ['--version'], { encoding: 'utf8' }).stdout).toMatch(/PostgreSQL\) \d+/);
  });

  it('says how to install Postgres when it is missing', () => {
    const empty = makeTempDir('nobin');
    try {
      expect(() => findPostgresBinaries({ pathVar: empty, postgresRoot: empty })).toThrow(MissingBinaryError);
      expect(() => findPostgresBinaries({ pathVar: empty, postgresRoot: empty })).toThrow(/bash infra\/setup\.sh.*apt-get install -y postgresql/);
    } finally {
      removeDir(empty);
    }
  });
});
