import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { detectOrphanGuard } from './orphan_guard.ts';
import { isProcessAlive, waitForProcessGone } from './proc_status.ts';
import { Supervisor, type ExitInfo } from './supervisor.ts';
import { killAll, makeTempDir, removeDir, startLauncherParent } from './testdata/helpers.ts';

const IDLE_CHILD = fileURLToPath(new URL('./testdata/idle_child.ts', import.meta.url));
const ORPHAN_DEADLINE_MS = 15_000; // generous: a loaded CI machine delays the watchdog poll and the children's graceful stop

let dir: string;
let supervisor: Supervisor;
const strayPids = new Set<number>();

beforeAll(() => {
  dir = makeTempDir('supervisor');
});

afterEach(async () => {
  await supervisor?.stopAll();
});

afterAll(() => {
  killAll(strayPids);
  removeDir(dir);
});

function newSupervisor(name: string, options: { stopGraceMs?: number } = {}): Supervisor {
  supervisor = new Supervisor({ logDir: path.join(dir, name, 'logs'), handleSignals: false, ...options });
  return supervisor;
}

describe('Supervisor', () => {
  it('guards binaries with PR_SET_PDEATHSIG when setpriv supports it (it does on the dev machines), else a watchdog', () => {
    const help = spawnSync('setpriv', ['--help'], { encoding: 'utf8' });
    const supported = help.status === 0 && help.stdout.includes('--pdeathsig');
    expect(detectOrphanGuard()).toBe(supported ? 'pdeathsig' : 'watchdog');
  });

  it('writes a child’s output to logs/<name>.log and reports an expected exit after stop', async () => {
    const sup = newSupervisor('log');
    const proc = sup.spawn({ name: 'echoer', command: '/bin/sh', args: ['-c', 'echo hello-from-child; exec sleep 300'] });
    await expect.poll(() => readFileSync(proc.logFile, 'utf8')).toContain('hello-from-child');
    expect(proc.logFile).toBe(path.join(dir, 'log', 'logs', 'echoer.log'));
    const info = await sup.stop('echoer');
    expect(info).toMatchObject({ name: 'echoer', pid: proc.pid, signal: 'SIGTERM', expected: true });
    expect(isProcessAlive(proc.pid)).toBe(false);
    expect(readFileSync(proc.logFile, 'utf8')).toMatch(/exit echoer \(pid \d+\): signal SIGTERM\n/);
  });

  it('reports an exit it did not ask for as unexpected, with the exit code', async () => {
    const sup = newSupervisor('unexpected');
    const exits: ExitInfo[] = [];
    sup.on('exit', (info) => exits.push(info));
    const proc = sup.spawn({ name: 'crasher', command: '/bin/sh', args: ['-c', 'exit 3'] });
    const info = await proc.exited;
    expect(info).toMatchObject({ name: 'crasher', code: 3, signal: null, expected: false });
    expect(exits).toEqual([info]);
    expect(readFileSync(proc.logFile, 'utf8')).toContain('code 3 (unexpected)');
  });

  it('SIGKILLs a child that ignores its stop signal once the grace time is over', async () => {
    const sup = newSupervisor('stubborn');
    const proc = sup.spawn({
      name: 'stubborn',
      command: '/bin/sh',
      args: ['-c', "trap '' TERM; exec sleep 300"],
      stopGraceMs: 300,
    });
    await new Promise((r) => setTimeout(r, 100));
    const startedMs = Date.now();
    const info = await proc.stop();
    expect(info.signal).toBe('SIGKILL');
    expect(info.expected).toBe(true);
    expect(Date.now() - startedMs).toBeGreaterThanOrEqual(250);
  });

  it('stopAll stops every child in reverse start order and leaves none alive', async () => {
    const sup = newSupervisor('all');
    const order: string[] = [];
    sup.on('exit', (info) => order.push(info.name));
    const procs = ['a', 'b', 'c'].map((name) => sup.spawn({ name, command: '/bin/sleep', args: ['300'] }));
    const ts = sup.spawnTs({ name: 'd', entry: IDLE_CHILD });
    await sup.stopAll();
    expect(order).toEqual(['d', 'c', 'b', 'a']);
    for (const p of [...procs, ts]) expect(isProcessAlive(p.pid)).toBe(false);
    expect(sup.running()).toEqual([]);
  });

  it('refuses a second running child under the same name, and restarts one that exited in its old place', async () => {
    const sup = newSupervisor('names');
    sup.spawn({ name: 'first', command: '/bin/sleep', args: ['300'] });
    const second = sup.spawn({ name: 'second', command: '/bin/sleep', args: ['300'] });
    expect(() => sup.spawn({ name: 'first', command: '/bin/sleep', args: ['300'] })).toThrow(/already running/);
    await sup.get('first')?.kill();
    const restarted = sup.spawn({ name: 'first', command: '/bin/sleep', args: ['300'] });
    expect(sup.list().map((p) => [p.name, p.pid])).toEqual([
      ['first', restarted.pid],
      ['second', second.pid],
    ]);
    expect(() => sup.spawn({ name: 'bad name', command: '/bin/sleep' })).toThrow(/must match/);
    expect(() => sup.spawn({ name: 'missing', command: '/nonexistent/binary' })).toThrow(/not an executable/);
  });

  it('a TypeScript child stops itself when its IPC channel to the launcher closes', async () => {
    const sup = newSupervisor('disconnect');
    const proc = sup.spawnTs({ name: 'idle', entry: IDLE_CHILD });
    await expect.poll(() => readFileSync(proc.logFile, 'utf8'), { timeout: 20_000 }).toContain('started');
    proc.child.disconnect();
    const info = await proc.exited;
    expect(info.code).toBe(0);
    expect(readFileSync(proc.logFile, 'utf8')).toContain('idle_child: SIGTERM');
  });
});

describe('no orphans when the launcher dies', () => {
  for (const guard of ['pdeathsig', 'watchdog'] as const) {
    it.runIf(guard === 'watchdog' || detectOrphanGuard() === 'pdeathsig')(`SIGKILL of the launcher takes nats-server, a binary and a TS child with it (${guard})`, async () => {
      const parentDir = path.join(dir, `orphan-${guard}`);
      const parent = await startLauncherParent(parentDir, guard, 'idle', ['sleep', 'ts', 'nats']);
      const children = Object.values(parent.pids);
      children.forEach((pid) => strayPids.add(pid));
      expect(children).toHaveLength(3);
      for (const pid of children) expect(isProcessAlive(pid)).toBe(true);
      parent.child.kill('SIGKILL');
      await parent.exited;
      for (const pid of children) expect(await waitForProcessGone(pid, ORPHAN_DEADLINE_MS)).toBe(true);
    });
  }

  it('SIGKILL of the launcher takes a paused (SIGSTOPped) TS child with it', async () => {
    const parentDir = path.join(dir, 'orphan-paused');
    const parent = await startLauncherParent(parentDir, detectOrphanGuard(), 'idle', ['ts-paused']);
    const pid = parent.pids.tsPaused!;
    strayPids.add(pid);
    // SIGSTOP is delivered asynchronously: wait for the kernel to show the process stopped.
    await expect.poll(() => readFileSync(`/proc/${pid}/stat`, 'utf8'), { timeout: 10_000 }).toMatch(/\) T /);
    parent.child.kill('SIGKILL');
    await parent.exited;
    expect(await waitForProcessGone(pid, ORPHAN_DEADLINE_MS + 10_000)).toBe(true);
  });

  it('a paused child is resumed to stop: Supervisor.stop and stopAll do not wait out the grace time', async () => {
    const sup = newSupervisor('pause-stop', { stopGraceMs: 30_000 });
    const proc = sup.spawn({ name: 'sleeper', command: '/bin/sleep', args: ['300'] });
    await sup.pause('sleeper');
    const t0 = Date.now();
    const info = await sup.stop('sleeper');
    expect(info).toMatchObject({ signal: 'SIGTERM', expected: true });
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(isProcessAlive(proc.pid)).toBe(false);
  });

  it('SIGTERM to the launcher stops every child gracefully, then the launcher exits 143', async () => {
    const parentDir = path.join(dir, 'sigterm');
    const parent = await startLauncherParent(parentDir, detectOrphanGuard(), 'idle', ['sleep', 'ts', 'nats']);
    Object.values(parent.pids).forEach((pid) => strayPids.add(pid));
    const idleLog = path.join(parentDir, 'logs', 'idle.log');
    // Its SIGTERM handler exists once it has started (tsx takes a moment).
    await expect.poll(() => readFileSync(idleLog, 'utf8'), { timeout: 20_000 }).toContain('started');
    parent.child.kill('SIGTERM');
    expect(await parent.exited).toEqual({ code: 143, signal: null });
    for (const pid of Object.values(parent.pids)) expect(isProcessAlive(pid)).toBe(false);
    // Stopped by the launcher (expected), not by the kernel's death signal.
    expect(readFileSync(path.join(parentDir, 'logs', 'nats0.log'), 'utf8')).toMatch(/exit nats0 \(pid \d+\): code 0\n/);
    expect(readFileSync(idleLog, 'utf8')).toContain('idle_child: SIGTERM');
  });

  it('an uncaught exception in the launcher still stops every child', async () => {
    const parentDir = path.join(dir, 'throw');
    const parent = await startLauncherParent(parentDir, detectOrphanGuard(), 'throw', ['sleep', 'ts']);
    Object.values(parent.pids).forEach((pid) => strayPids.add(pid));
    expect((await parent.exited).code).toBe(1);
    for (const pid of Object.values(parent.pids)) expect(await waitForProcessGone(pid, ORPHAN_DEADLINE_MS)).toBe(true);
  });
});
