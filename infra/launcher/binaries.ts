// Finding the system binaries the launcher starts, with errors that say how to install them.
import { accessSync, constants, readdirSync } from 'node:fs';
import path from 'node:path';

/** A binary the launcher needs was not found; `message` says what to run. */
export class MissingBinaryError extends Error {
  constructor(
    readonly binary: string,
    readonly searched: readonly string[],
    readonly installHint: string,
  ) {
    super(
      `${binary} not found (searched: PATH, ${searched.join(', ')}). ` +
        `Install it: ${installHint}`,
    );
    this.name = 'MissingBinaryError';
  }
}

const DEFAULT_POSTGRES_ROOT = '/usr/lib/postgresql';
const POSTGRES_INSTALL_HINT = 'run `bash infra/setup.sh` (or `apt-get install -y postgresql`)';
const NATS_INSTALL_HINT = 'run `bash infra/setup.sh` (or `apt-get install -y nats-server`)';

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function pathDirs(pathVar = process.env.PATH ?? ''): string[] {
  return pathVar.split(path.delimiter).filter((d) => d.length > 0);
}

/** Where to look; the defaults are this process's PATH and /usr/lib/postgresql. */
export interface BinarySearch {
  pathVar?: string;
  postgresRoot?: string;
}

/** The first executable `name` in PATH then in `extraDirs`, or null. */
export function findBinary(name: string, extraDirs: readonly string[] = [], pathVar?: string): string | null {
  for (const dir of [...pathDirs(pathVar), ...extraDirs]) {
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

/** /usr/lib/postgresql/<major>/bin directories, newest major first. */
export function postgresVersionDirs(root = DEFAULT_POSTGRES_ROOT): string[] {
  let majors: string[];
  try {
    majors = readdirSync(root);
  } catch {
    return [];
  }
  return majors
    .filter((m) => /^\d+$/.test(m))
    .sort((a, b) => Number(b) - Number(a))
    .map((m) => path.join(root, m, 'bin'));
}

export interface PostgresBinaries {
  /** Directory holding the server binaries (initdb and postgres come from the same one). */
  binDir: string;
  initdb: string;
  postgres: string;
  pgIsready: string;
  psql: string;
}

const POSTGRES_TOOLS = ['initdb', 'postgres', 'pg_isready', 'psql'] as const;

/**
 * The Postgres server binaries, all from one installation: initdb and postgres must match
 * in major version, so a directory is accepted only when it holds every tool.
 * PATH entries may be symlinks into /usr/lib/postgresql/<n>/bin (Debian's /usr/local/bin).
 */
export function findPostgresBinaries(search: BinarySearch = {}): PostgresBinaries {
  const versionDirs = postgresVersionDirs(search.postgresRoot);
  const candidates = [...pathDirs(search.pathVar), ...versionDirs];
  for (const dir of candidates) {
    if (POSTGRES_TOOLS.every((tool) => isExecutable(path.join(dir, tool)))) {
      return {
        binDir: dir,
        initdb: path.join(dir, 'initdb'),
        postgres: path.join(dir, 'postgres'),
        pgIsready: path.join(dir, 'pg_isready'),
        psql: path.join(dir, 'psql'),
      };
    }
  }
  // Mixed installations (postgres in one dir, psql in another) still work when each is found.
  const found = Object.fromEntries(
    POSTGRES_TOOLS.map((tool) => [tool, findBinary(tool, versionDirs, search.pathVar)]),
  ) as Record<(typeof POSTGRES_TOOLS)[number], string | null>;
  const missing = POSTGRES_TOOLS.find((tool) => found[tool] === null);
  if (missing !== undefined || found.initdb === null || found.postgres === null) {
    throw new MissingBinaryError(missing ?? 'initdb', [`${search.postgresRoot ?? DEFAULT_POSTGRES_ROOT}/*/bin`], POSTGRES_INSTALL_HINT);
  }
  return {
    binDir: path.dirname(found.postgres),
    initdb: found.initdb,
    postgres: found.postgres,
    pgIsready: found.pg_isready as string,
    psql: found.psql as string,
  };
}

/** The nats-server binary (Debian puts it in /usr/sbin, which a non-root PATH may lack). */
export function findNatsServer(search: BinarySearch & { extraDirs?: string[] } = {}): string {
  const extra = search.extraDirs ?? ['/usr/sbin', '/usr/local/sbin', '/usr/local/bin', '/usr/bin'];
  const found = findBinary('nats-server', extra, search.pathVar);
  if (found === null) throw new MissingBinaryError('nats-server', extra, NATS_INSTALL_HINT);
  return found;
}

/** util-linux `setpriv` (used for PR_SET_PDEATHSIG and to drop privileges), or null. */
export function findSetpriv(): string | null {
  return findBinary('setpriv', ['/usr/bin', '/bin', '/usr/sbin']);
}
