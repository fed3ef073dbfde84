// The unprivileged OS user that runs Postgres when the launcher is root (Postgres refuses
// to run as root), and making sure that user can reach the directories it needs.
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';

export interface OsUser {
  name: string;
  uid: number;
  gid: number;
}

export const DEFAULT_SERVICE_USER = 'nimmer';
const FALLBACK_SERVICE_USER = 'postgres';

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** The passwd entry of `name` (or of a numeric uid), or null. */
export function lookupUser(nameOrUid: string | number): OsUser | null {
  try {
    const line = execFileSync('getent', ['passwd', String(nameOrUid)], { encoding: 'utf8' }).trim();
    const [name, , uid, gid] = line.split(':');
    if (name === undefined || uid === undefined || gid === undefined) return null;
    return { name, uid: Number(uid), gid: Number(gid) };
  } catch {
    return null;
  }
}

function createSystemUser(name: string): OsUser | null {
  const r = spawnSync(
    'useradd',
    ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', name],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) return null;
  return lookupUser(name);
}

/**
 * The user to run a service as when we are root: `preferred` when given (it must exist),
 * else `nimmer` (created as a system user when missing), else the `postgres` user.
 */
export function resolveServiceUser(preferred?: string): OsUser {
  if (preferred !== undefined) {
    const user = lookupUser(preferred);
    if (user === null) throw new Error(`OS user '${preferred}' does not exist; create it (useradd --system ${preferred}) or pick another`);
    if (user.uid === 0) throw new Error(`OS user '${preferred}' is root; Postgres needs an unprivileged user`);
    return user;
  }
  const existing = lookupUser(DEFAULT_SERVICE_USER) ?? createSystemUser(DEFAULT_SERVICE_USER) ?? lookupUser(FALLBACK_SERVICE_USER);
  if (existing === null) {
    throw new Error(
      `running as root, Postgres needs an unprivileged OS user, and neither '${DEFAULT_SERVICE_USER}' ` +
        `could be created (useradd failed) nor '${FALLBACK_SERVICE_USER}' exists; ` +
        `create one: useradd --system --user-group ${DEFAULT_SERVICE_USER}`,
    );
  }
  return existing;
}

/** Directories from / down to dir (inclusive). */
export function ancestorsOf(dir: string): string[] {
  const out: string[] = [];
  let current = path.resolve(dir);
  for (;;) {
    out.unshift(current);
    const parent = path.dirname(current);
    if (parent === current) return out;
    current = parent;
  }
}

/** The first of `dirs` that `user` cannot search (x permission), or null when all are searchable. */
export function firstUnsearchableDir(user: OsUser, dirs: readonly string[]): string | null {
  const r = spawnSync('sh', ['-c', 'for d; do test -x "$d" || { printf %s "$d"; exit 1; }; done', 'sh', ...dirs], {
    uid: user.uid,
    gid: user.gid,
    encoding: 'utf8',
  });
  if (r.status === 0) return null;
  return r.stdout.length > 0 ? r.stdout : (dirs[0] ?? '/');
}
