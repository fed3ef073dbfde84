// The node processes of a local cluster, as children of the launcher's supervisor: started with
// the cluster config, waited for (the node's IPC `ready` message, or its /admin/status naming
// it), and killed, paused, resumed and restarted with real signals.
import type { ControlledNode, NodeControl, NodeProcessState } from '../controller/index.ts';
import { nodeName } from '../controller/index.ts';
import { getNodeJson } from '../controller/node_http.ts';
import type { SupervisedProcess, Supervisor } from '../launcher/index.ts';
import { nodeExecArgvFromEnv } from '../../shards/node/exec_argv.ts';

export interface NodeSpec {
  id: number;
  httpUrl: string;
  raftAddress: string;
}

export interface NodeProcessesOptions {
  supervisor: Supervisor;
  /** The node's TypeScript entry point (shards/node/main.ts). */
  entry: string;
  configFile: string;
  nodes: readonly NodeSpec[];
  readyTimeoutMs: number;
  /** How long a graceful stop may take before SIGKILL. */
  stopGraceMs?: number;
  onEvent?: (message: string) => void;
}

export class NodeStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NodeStartError';
  }
}

type Intent = 'up' | 'killed' | 'stopped';

interface Entry {
  spec: NodeSpec;
  proc: SupervisedProcess | null;
  ready: boolean;
  paused: boolean;
  intent: Intent;
}

const READY_POLL_MS = 200;
const STOP_GRACE_MS_DEFAULT = 15_000;
const LOG_TAIL_BYTES = 3000;

export class NodeProcesses implements NodeControl {
  private readonly entries = new Map<number, Entry>();
  /** Per node: one lifecycle operation at a time. */
  private readonly locks = new Map<number, Promise<unknown>>();

  constructor(private readonly options: NodeProcessesOptions) {
    for (const spec of options.nodes) {
      this.entries.set(spec.id, { spec, proc: null, ready: false, paused: false, intent: 'stopped' });
    }
  }

  list(): ControlledNode[] {
    return [...this.entries.values()].map((e) => ({
      id: e.spec.id,
      name: nodeName(e.spec.id),
      httpUrl: e.spec.httpUrl,
      raftAddress: e.spec.raftAddress,
      state: this.stateOf(e),
      pid: e.proc?.running ? e.proc.pid : null,
      logFile: e.proc?.logFile ?? null,
    }));
  }

  async startAll(): Promise<void> {
    const results = await Promise.allSettled([...this.entries.keys()].map((id) => this.start(id)));
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
    if (failed.length > 0) throw new NodeStartError(failed.map((e) => e.message).join('\n\n'));
  }

  start(id: number): Promise<void> {
    return this.locked(id, () => this.startUnlocked(this.entry(id)));
  }

  kill(id: number): Promise<void> {
    return this.locked(id, async () => {
      const e = this.entry(id);
      if (e.proc === null || !e.proc.running) return;
      e.intent = 'killed';
      await e.proc.kill();
      e.paused = false;
      this.options.onEvent?.(`${nodeName(id)} killed (SIGKILL)`);
    });
  }

  pause(id: number): Promise<void> {
    return this.locked(id, async () => {
      const e = this.entry(id);
      if (e.proc === null || !e.proc.running) throw new Error(`${nodeName(id)} is not running`);
      // Through the supervisor: a stopped node cannot notice the launcher dying by itself.
      await this.options.supervisor.pause(nodeName(id));
      e.paused = true;
      this.options.onEvent?.(`${nodeName(id)} paused (SIGSTOP)`);
    });
  }

  resume(id: number): Promise<void> {
    return this.locked(id, async () => {
      const e = this.entry(id);
      this.resumeUnlocked(e);
    });
  }

  restart(id: number): Promise<void> {
    return this.locked(id, async () => {
      const e = this.entry(id);
      await this.stopUnlocked(e);
      await this.startUnlocked(e);
    });
  }

  stop(id: number): Promise<void> {
    return this.locked(id, () => this.stopUnlocked(this.entry(id)));
  }

  /** Graceful stop of every node, all at once (each flushes its WAL on SIGTERM). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.entries.keys()].map((id) => this.stop(id)));
  }

  private entry(id: number): Entry {
    const e = this.entries.get(id);
    if (e === undefined) throw new Error(`no node ${nodeName(id)} in this cluster`);
    return e;
  }

  private stateOf(e: Entry): NodeProcessState {
    if (e.proc === null) return 'stopped';
    if (e.proc.running) {
      if (e.paused) return 'paused';
      return e.ready ? 'running' : 'starting';
    }
    if (e.intent === 'killed') return 'killed';
    if (e.intent === 'stopped') return 'stopped';
    return 'exited';
  }

  private locked<T>(id: number, op: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(id) ?? Promise.resolve();
    const next = previous.then(op, op);
    this.locks.set(id, next.catch(() => undefined));
    return next;
  }

  private resumeUnlocked(e: Entry): void {
    if (!e.paused) return;
    if (e.proc?.running) this.options.supervisor.resume(nodeName(e.spec.id));
    e.paused = false;
    this.options.onEvent?.(`${nodeName(e.spec.id)} resumed (SIGCONT)`);
  }

  private async stopUnlocked(e: Entry): Promise<void> {
    if (e.proc === null || !e.proc.running) {
      if (e.intent === 'up') e.intent = 'stopped';
      return;
    }
    // A stopped process cannot act on SIGTERM: resume it first.
    this.resumeUnlocked(e);
    e.intent = 'stopped';
    await e.proc.stop(this.options.stopGraceMs ?? STOP_GRACE_MS_DEFAULT);
  }

  private async startUnlocked(e: Entry): Promise<void> {
    if (e.proc !== null && e.proc.running) return;
    const name = nodeName(e.spec.id);
    e.ready = false;
    e.paused = false;
    e.intent = 'up';
    const proc = this.options.supervisor.spawnTs({
      name,
      entry: this.options.entry,
      args: ['--config', this.options.configFile, '--node', String(e.spec.id)],
      // NIMMER_NODE_EXEC_ARGV: extra Node flags for the node processes only (diagnosing a benchmark).
      execArgv: nodeExecArgvFromEnv(),
      stopGraceMs: this.options.stopGraceMs ?? STOP_GRACE_MS_DEFAULT,
    });
    e.proc = proc;
    try {
      await this.waitReady(e, proc);
    } catch (err) {
      if (proc.running) await proc.kill();
      e.intent = 'stopped';
      throw err;
    }
    e.ready = true;
    this.options.onEvent?.(`${name} ready (pid ${proc.pid})`);
  }

  /** Ready when the node says so over IPC, or when its /admin/status answers with its own id. */
  private waitReady(e: Entry, proc: SupervisedProcess): Promise<void> {
    const name = nodeName(e.spec.id);
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (err?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        proc.child.off('message', onMessage);
        if (err === undefined) resolve();
        else reject(err);
      };
      const onMessage = (m: unknown) => {
        const msg = m as { type?: unknown; nodeId?: unknown };
        if (msg?.type === 'ready' && (msg.nodeId === e.spec.id || msg.nodeId === name)) finish();
      };
      proc.child.on('message', onMessage);
      const timer = setTimeout(() => {
        finish(
          new NodeStartError(
            `${name} was not ready within ${this.options.readyTimeoutMs} ms (no 'ready' message, ${e.spec.httpUrl}/admin/status not answering); ` +
              `see ${proc.logFile}:\n${proc.logTail(LOG_TAIL_BYTES)}`,
          ),
        );
      }, this.options.readyTimeoutMs);
      void proc.exited.then((info) => {
        const how = info.signal !== null ? `signal ${info.signal}` : `code ${String(info.code)}`;
        finish(new NodeStartError(`${name} exited (${how}) before it was ready; see ${proc.logFile}:\n${proc.logTail(LOG_TAIL_BYTES)}`));
      });
      void (async () => {
        while (!settled) {
          await new Promise((r) => setTimeout(r, READY_POLL_MS));
          if (settled) return;
          const r = await getNodeJson(`${e.spec.httpUrl}/admin/status`, 1000);
          const nodeId = (r?.body as { nodeId?: unknown } | undefined)?.nodeId;
          // The port answering could be someone else's process: it must name this node.
          if (r?.status === 200 && (nodeId === name || nodeId === e.spec.id) && proc.running) finish();
        }
      })();
    });
  }
}
