// An interaction environment for Raft scenario scripts (consensus/raft/testdata/*.txt), after
// etcd-io/raft's rafttest.InteractionEnv: RawNodes over MemoryStorage, a global in-flight message
// queue the script delivers, drops or partitions explicitly, and a deterministic transcript of
// every Ready, message and log line. Nothing happens unless a command says so.
//
// Commands (ids are replica ids; several may be given where it makes sense):
//   add-nodes <n> [voters=(1,2,3) learners=(4) index=<i>] [prevote= checkquorum= inflight=
//       read-only=safe|lease-based step-down-on-removal= disable-proposal-forwarding=
//       max-uncommitted-bytes= election=3 heartbeat=1 seed=]   new replicas with the next free ids
//   campaign <id>                      start an election (a pre-vote one with prevote=true)
//   propose <id> <data>                propose a command (errors such as a dropped proposal are printed)
//   propose-conf-change <id> [transition=auto|implicit|explicit] [v<id> l<id> r<id> …]
//                                      add voter / add learner / remove; no changes = leave joint
//   transfer-leadership from=<id> to=<id>
//   read-index <id> <context>          request a linearizable read point
//   report-unreachable <id> <peer>     the transport on <id> failed to reach <peer>
//   quiesce <id>                       ask an idle leader to quiesce the group
//   tick <id…> [n=1] | tick-heartbeat <id…> | tick-election <id…>
//                                      advance clocks (a quiesced replica ticks quiesced)
//   set-randomized-election-timeout <id…> timeout=<ticks>
//   process-ready <id…>                persist, send, apply and advance one Ready
//   deliver-msgs [<id…>] [drop=(<id…>)] [type=MsgApp]
//                                      deliver (or drop) the queued messages addressed to these ids
//   stabilize [<id…>]                  process Readys and deliver messages among these until quiet
//   partition <ids> [/ <ids> …] | heal  drop messages between groups (one group: it vs the rest)
//   compact <id> <index>               snapshot the applied state at <index> and truncate the log
//   restart <id>                       rebuild the replica from its storage, losing unpersisted state
//   status <id> | raft-state | raft-log <id…> | applied [<id…>]   inspect
//   log-level debug|info|warn|none     filter core log lines (none also silences the transcript)
import { decodeConfChange } from '../confchange_codec.ts';
import { RaftError } from '../errors.ts';
import type { RaftConfig, RaftLogger } from '../raft.ts';
import type { ReadOnlyOption } from '../read_only.ts';
import { seededRandom } from '../rand.ts';
import { RawNode } from '../rawnode.ts';
import { MemoryStorage } from '../storage.ts';
import type { ConfChange, ConfChangeSingle, ConfChangeTransition, ConfState, Message, MessageType, ReplicaId, Snapshot } from '../types.ts';
import { emptyConfState, isResponseMessage } from '../types.ts';
import {
  describeConfig,
  describeEntry,
  describeHardState,
  describeMessage,
  describeProgress,
  describeReady,
  describeRole,
  parseMessageType,
} from './interaction_format.ts';

// --- command parsing -----------------------------------------------------------------------------

/** One argument: a bare token (`3`, `foo`, `/`) has no values; `key=v` or `key=(a,b)` has some. */
export interface CommandArg {
  key: string;
  vals: string[];
}

export interface Command {
  name: string;
  args: CommandArg[];
  text: string;
}

/** Splits on whitespace, keeping `(…)` groups and `"…"` strings whole. */
function tokenize(line: string): string[] {
  const tokens: string[] = [];
  let cur = '';
  let depth = 0;
  let quoted = false;
  for (const ch of line) {
    if (quoted) {
      cur += ch;
      if (ch === '"') quoted = false;
    } else if (ch === '"') {
      cur += ch;
      quoted = true;
    } else if (ch === '(') {
      depth++;
      cur += ch;
    } else if (ch === ')') {
      depth--;
      cur += ch;
    } else if (/\s/.test(ch) && depth === 0) {
      if (cur) tokens.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  if (quoted || depth !== 0) throw new Error(`unbalanced quotes or parentheses in: ${line}`);
  if (cur) tokens.push(cur);
  return tokens;
}

function unquote(s: string): string {
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? (JSON.parse(s) as string) : s;
}

export function parseCommand(line: string): Command {
  const [name, ...rest] = tokenize(line.trim());
  const args: CommandArg[] = rest.map((tok) => {
    const eq = tok.indexOf('=');
    if (eq < 0 || tok.startsWith('"')) return { key: unquote(tok), vals: [] };
    const key = tok.slice(0, eq);
    let v = tok.slice(eq + 1);
    if (v.startsWith('(') && v.endsWith(')')) v = v.slice(1, -1);
    const vals = v
      .split(/[\s,]+/)
      .filter((x) => x.length > 0)
      .map(unquote);
    return { key, vals };
  });
  return { name, args, text: line };
}

function positional(cmd: Command): string[] {
  return cmd.args.filter((a) => a.vals.length === 0).map((a) => a.key);
}

function keyVals(cmd: Command, key: string): string[] | undefined {
  const found = cmd.args.filter((a) => a.vals.length > 0 && a.key === key);
  return found.length === 0 ? undefined : found.flatMap((a) => a.vals);
}

function toInt(s: string, what: string): number {
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new Error(`${what}: expected an integer, got ${JSON.stringify(s)}`);
  return n;
}

function toBool(s: string, what: string): boolean {
  if (s === 'true') return true;
  if (s === 'false') return false;
  throw new Error(`${what}: expected true or false, got ${JSON.stringify(s)}`);
}

/** `1 2,3` → [1, 2, 3]. */
function idList(tokens: string[], what: string): ReplicaId[] {
  return tokens.flatMap((t) => t.split(',').filter((x) => x.length > 0)).map((t) => toInt(t, what));
}

// --- output ----------------------------------------------------------------------------------------

export type LogLevel = 'debug' | 'info' | 'warn' | 'none';
const LEVEL_RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, none: 3 };

class Transcript {
  lines: string[] = [];
  /** `log-level none` silences everything, for quiet setup steps. */
  muted = false;
  private indent = '';

  write(line: string): void {
    if (!this.muted) this.lines.push(this.indent + line);
  }

  withIndent(f: () => void): void {
    const saved = this.indent;
    this.indent += '  ';
    try {
      f();
    } finally {
      this.indent = saved;
    }
  }

  take(): string[] {
    const out = this.lines;
    this.lines = [];
    return out;
  }
}

// --- the environment -------------------------------------------------------------------------------

/** The replicated state machine's contents: one applied payload per entry, with its index. */
interface AppliedCommand {
  index: number;
  data: string;
}

/**
 * MemoryStorage whose snapshot() is the state machine as of the last applied entry, like an
 * application that snapshots on demand when the leader needs one (etcd's interaction env does the
 * same). Without it a leader could only send its last compaction snapshot, which may predate the
 * conf change that added the very replica it is catching up.
 */
class OnDemandSnapshotStorage extends MemoryStorage {
  onDemand: (() => Snapshot) | undefined;

  override snapshot(): Snapshot {
    return this.onDemand ? this.onDemand() : super.snapshot();
  }

  /** The snapshot the stored log starts after (what survives a restart). */
  compactionSnapshot(): Snapshot {
    return super.snapshot();
  }
}

export interface InteractionNode {
  id: ReplicaId;
  rn: RawNode;
  /** Survives `restart`: it stands for the replica's disk. */
  storage: OnDemandSnapshotStorage;
  config: RaftConfig;
  stateMachine: AppliedCommand[];
  /** The configuration after each applied conf change, so `compact` can snapshot at any applied index. */
  confHistory: Array<{ index: number; confState: ConfState }>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function encodeStateMachine(cmds: AppliedCommand[]): Uint8Array {
  return encoder.encode(JSON.stringify(cmds));
}

function decodeStateMachine(data: Uint8Array): AppliedCommand[] {
  if (data.byteLength === 0) return [];
  return JSON.parse(decoder.decode(data)) as AppliedCommand[];
}

const TRANSITIONS: Record<string, ConfChangeTransition> = {
  auto: 'auto',
  implicit: 'jointImplicit',
  explicit: 'jointExplicit',
  jointImplicit: 'jointImplicit',
  jointExplicit: 'jointExplicit',
};

function parseConfChangeSingle(tok: string): ConfChangeSingle {
  const m = /^([vrl])(\d+)$/.exec(tok);
  if (!m) throw new Error(`conf change ${JSON.stringify(tok)}: expected v<id> (add voter), l<id> (add learner) or r<id> (remove)`);
  const type = m[1] === 'v' ? 'addVoter' : m[1] === 'l' ? 'addLearner' : 'removeVoter';
  return { type, replica: Number(m[2]) };
}

export class InteractionEnv {
  readonly nodes = new Map<ReplicaId, InteractionNode>();
  /** Messages sent and not yet delivered or dropped, in send order. */
  messages: Message[] = [];
  /** Partition group of each node; messages between different groups are dropped on delivery. */
  private partitionGroup = new Map<ReplicaId, number>();
  private level: LogLevel = 'info';
  private readonly out = new Transcript();

  /** Runs one command line and returns its transcript ("ok" when it printed nothing). */
  handle(line: string): string {
    const cmd = parseCommand(line);
    try {
      this.dispatch(cmd);
    } catch (e) {
      // Errors the core reports to its caller are part of the scenario; anything else fails the test.
      if (e instanceof RaftError) this.out.write(`error: ${e.message}`);
      else {
        this.out.take();
        throw e;
      }
    }
    const lines = this.out.take();
    return lines.length === 0 ? 'ok' : lines.join('\n');
  }

  private dispatch(cmd: Command): void {
    switch (cmd.name) {
      case 'add-nodes':
        return this.addNodes(cmd);
      case 'log-level':
        return this.setLogLevel(positional(cmd)[0]);
      case 'campaign':
        return this.forEachNode(cmd, (n) => n.rn.campaign());
      case 'propose':
        return this.propose(cmd);
      case 'propose-conf-change':
        return this.proposeConfChange(cmd);
      case 'tick-election':
        return this.forEachNode(cmd, (n) => this.tick(n, n.config.electionTick));
      case 'tick-heartbeat':
        return this.forEachNode(cmd, (n) => this.tick(n, n.config.heartbeatTick));
      case 'tick':
        return this.forEachNode(cmd, (n) => this.tick(n, toInt(keyVals(cmd, 'n')?.[0] ?? '1', 'tick n')));
      case 'process-ready': {
        const many = positional(cmd).length > 1;
        return this.forEachNode(cmd, (n) => {
          if (!many) return this.processReady(n);
          this.out.write(`> ${n.id} handling Ready`);
          this.out.withIndent(() => this.processReady(n));
        });
      }
      case 'deliver-msgs':
        return this.deliverMsgsCmd(cmd);
      case 'stabilize':
        return this.stabilize(this.idsOrAll(cmd));
      case 'status':
        return this.forEachNode(cmd, (n) => this.status(n));
      case 'raft-log': {
        const many = positional(cmd).length > 1;
        return this.forEachNode(cmd, (n) => {
          if (!many) return this.raftLog(n);
          this.out.write(`${n.id}:`);
          this.out.withIndent(() => this.raftLog(n));
        });
      }
      case 'raft-state':
        return this.raftState();
      case 'applied':
        return this.applied(this.idsOrAll(cmd));
      case 'compact':
        return this.compact(cmd);
      case 'transfer-leadership':
        return this.transferLeadership(cmd);
      case 'read-index':
        return this.readIndex(cmd);
      case 'partition':
        return this.partition(cmd);
      case 'heal':
        this.partitionGroup.clear();
        return;
      case 'report-unreachable':
        return this.reportUnreachable(cmd);
      case 'quiesce':
        return this.forEachNode(cmd, (n) => this.out.write(n.rn.quiesce() ? `${n.id} quiesced` : `${n.id} cannot quiesce`));
      case 'restart':
        return this.forEachNode(cmd, (n) => this.restart(n));
      case 'set-randomized-election-timeout': {
        // Holds until the node's next role or term change re-randomises it (as in etcd).
        const timeout = toInt(keyVals(cmd, 'timeout')?.[0] ?? '', 'set-randomized-election-timeout timeout');
        return this.forEachNode(cmd, (n) => {
          n.rn.raft.randomizedElectionTimeout = timeout;
        });
      }
      default:
        throw new Error(`unknown command ${JSON.stringify(cmd.name)} in: ${cmd.text}`);
    }
  }

  // --- nodes -------------------------------------------------------------------------------------

  node(id: ReplicaId): InteractionNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}; add it first with add-nodes`);
    return n;
  }

  private sortedIds(): ReplicaId[] {
    return [...this.nodes.keys()].sort((a, b) => a - b);
  }

  private idsOrAll(cmd: Command): ReplicaId[] {
    const ids = idList(positional(cmd), cmd.name);
    return ids.length > 0 ? ids : this.sortedIds();
  }

  private forEachNode(cmd: Command, f: (n: InteractionNode) => void): void {
    const ids = idList(positional(cmd), cmd.name);
    if (ids.length === 0) throw new Error(`${cmd.name} needs at least one node id`);
    for (const id of ids) f(this.node(id));
  }

  private logger(): RaftLogger {
    return {
      debug: (msg) => this.log('debug', msg),
      info: (msg) => this.log('info', msg),
      warn: (msg) => this.log('warn', msg),
    };
  }

  private log(level: Exclude<LogLevel, 'none'>, msg: string): void {
    if (LEVEL_RANK[level] >= LEVEL_RANK[this.level]) this.out.write(`${level.toUpperCase()} ${msg}`);
  }

  private setLogLevel(level: string | undefined): void {
    if (level !== 'debug' && level !== 'info' && level !== 'warn' && level !== 'none') {
      throw new Error(`log-level: expected debug, info, warn or none, got ${JSON.stringify(level)}`);
    }
    this.level = level;
    this.out.muted = level === 'none';
  }

  /**
   * add-nodes <n> [voters=(…) learners=(…) index=<i>] [prevote= checkquorum= inflight= read-only=
   * step-down-on-removal= disable-proposal-forwarding= max-uncommitted-bytes= election= heartbeat= seed=]
   *
   * Nodes get the next free ids. With voters/learners they boot from a snapshot at `index` (term 1)
   * holding that configuration; without, they start empty and learn everything from a leader.
   * Election timeouts are not randomised (exactly `election` ticks) unless a `seed` is given.
   */
  private addNodes(cmd: Command): void {
    const count = toInt(positional(cmd)[0] ?? '', 'add-nodes count');
    const voters = idList(keyVals(cmd, 'voters') ?? [], 'voters');
    const learners = idList(keyVals(cmd, 'learners') ?? [], 'learners');
    const indexVal = keyVals(cmd, 'index')?.[0];
    const bootIndex = indexVal === undefined ? 0 : toInt(indexVal, 'index');
    if ((voters.length > 0 || learners.length > 0) !== bootIndex > 0) {
      throw new Error('add-nodes: voters/learners and index go together (a bootstrap snapshot needs both)');
    }
    const flag = (key: string): boolean | undefined => {
      const v = keyVals(cmd, key)?.[0];
      return v === undefined ? undefined : toBool(v, key);
    };
    const num = (key: string): number | undefined => {
      const v = keyVals(cmd, key)?.[0];
      return v === undefined ? undefined : toInt(v, key);
    };
    const readOnly = keyVals(cmd, 'read-only')?.[0];
    let readOnlyOption: ReadOnlyOption | undefined;
    if (readOnly === 'safe') readOnlyOption = 'safe';
    else if (readOnly === 'lease-based') readOnlyOption = 'leaseBased';
    else if (readOnly !== undefined) throw new Error(`read-only: expected safe or lease-based, got ${readOnly}`);
    const seed = num('seed');

    for (let i = 0; i < count; i++) {
      const id = this.nodes.size === 0 ? 1 : Math.max(...this.nodes.keys()) + 1;
      const storage = new OnDemandSnapshotStorage();
      const confState: ConfState = { ...emptyConfState(), voters: voters.slice(), learners: learners.slice() };
      if (bootIndex > 0) {
        storage.applySnapshot({ metadata: { index: bootIndex, term: 1, confState }, data: encodeStateMachine([]) });
      }
      const config: RaftConfig = {
        id,
        electionTick: num('election') ?? 3,
        heartbeatTick: num('heartbeat') ?? 1,
        storage,
        applied: bootIndex,
        preVote: flag('prevote'),
        checkQuorum: flag('checkquorum'),
        inflightMsgsMax: num('inflight'),
        readOnlyOption,
        stepDownOnRemoval: flag('step-down-on-removal'),
        disableProposalForwarding: flag('disable-proposal-forwarding'),
        uncommittedBytesMax: num('max-uncommitted-bytes'),
        // No jitter by default, so `tick-election` fires an election exactly; a seed brings it back.
        random: seed === undefined ? () => 0 : seededRandom(seed * 1000 + id),
        logger: this.logger(),
      };
      const node: InteractionNode = {
        id,
        rn: new RawNode(config),
        storage,
        config,
        stateMachine: [],
        confHistory: [{ index: bootIndex, confState }],
      };
      storage.onDemand = () => this.appliedSnapshot(node);
      this.nodes.set(id, node);
    }
  }

  /** Rebuilds the RawNode from what is on its disk: anything not yet handed out in a Ready is lost. */
  private restart(n: InteractionNode): void {
    const r = n.rn.raft;
    const lostEntries = r.raftLog.unstableEntries();
    const lostMsgs = r.msgs;
    const hs = r.hardState();
    const disk = n.storage.hardState;
    const lostHardState = hs.term !== disk.term || hs.vote !== disk.vote || hs.commit !== disk.commit ? hs : undefined;
    const snap = n.storage.compactionSnapshot();
    // The state machine lives in memory: it restarts from the snapshot and replays the committed log.
    n.stateMachine = decodeStateMachine(snap.data);
    n.confHistory = [{ index: snap.metadata.index, confState: snap.metadata.confState }];
    n.config = { ...n.config, applied: snap.metadata.index };
    this.out.write(`restarting ${n.id}:`);
    this.out.withIndent(() => {
      if (lostHardState) this.out.write(`unpersisted state lost: ${describeHardState(lostHardState)}`);
      for (const e of lostEntries) this.out.write(`unpersisted entry lost: ${describeEntry(e)}`);
      for (const m of lostMsgs) this.out.write(`unsent message lost: ${describeMessage(m)}`);
      this.out.write(`on disk: ${describeHardState(n.storage.hardState)} log=[${n.storage.firstIndex()}, ${n.storage.lastIndex()}] snapshot=${snap.metadata.index}`);
    });
    n.rn = new RawNode(n.config);
  }

  private tick(n: InteractionNode, ticks: number): void {
    for (let i = 0; i < ticks; i++) {
      // Like an application that honours quiescence: a quiesced replica's clock runs, nothing fires.
      if (n.rn.isQuiesced()) n.rn.tickQuiesced();
      else n.rn.tick();
    }
  }

  // --- proposals and requests ------------------------------------------------------------------

  private propose(cmd: Command): void {
    const [idTok, data, ...extra] = positional(cmd);
    if (idTok === undefined || data === undefined || extra.length > 0) throw new Error('usage: propose <id> <data>');
    this.node(toInt(idTok, 'propose id')).rn.propose(encoder.encode(data));
  }

  /** propose-conf-change <id> [transition=auto|implicit|explicit] [v<id>|l<id>|r<id> …]; no changes = leave joint. */
  private proposeConfChange(cmd: Command): void {
    const [idTok, ...changes] = positional(cmd);
    if (idTok === undefined) throw new Error('usage: propose-conf-change <id> [transition=…] v4 r2 l5');
    const t = keyVals(cmd, 'transition')?.[0] ?? 'auto';
    const transition = TRANSITIONS[t];
    if (!transition) throw new Error(`transition: expected auto, implicit or explicit, got ${t}`);
    const cc: ConfChange = { transition, changes: changes.map(parseConfChangeSingle) };
    this.node(toInt(idTok, 'propose-conf-change id')).rn.proposeConfChange(cc);
  }

  private transferLeadership(cmd: Command): void {
    const from = toInt(keyVals(cmd, 'from')?.[0] ?? '', 'transfer-leadership from');
    const to = toInt(keyVals(cmd, 'to')?.[0] ?? '', 'transfer-leadership to');
    this.node(from).rn.transferLeader(to);
  }

  private readIndex(cmd: Command): void {
    const [idTok, ctx] = positional(cmd);
    if (idTok === undefined || ctx === undefined) throw new Error('usage: read-index <id> <context>');
    this.node(toInt(idTok, 'read-index id')).rn.readIndex(encoder.encode(ctx));
  }

  /** report-unreachable <reporter> <peer>: the transport on `reporter` failed to reach `peer`. */
  private reportUnreachable(cmd: Command): void {
    const [a, b] = idList(positional(cmd), 'report-unreachable');
    if (a === undefined || b === undefined) throw new Error('usage: report-unreachable <reporter> <peer>');
    this.node(a).rn.reportUnreachable(b);
  }

  // --- ready handling ----------------------------------------------------------------------------

  /** Persist (snapshot, entries, hard state), send, apply, advance: one synchronous Ready. */
  processReady(n: InteractionNode): void {
    if (!n.rn.hasReady()) {
      this.out.write('<no Ready>');
      return;
    }
    const rd = n.rn.ready();
    for (const line of describeReady(rd)) this.out.write(line);
    if (rd.snapshot) {
      n.storage.applySnapshot(rd.snapshot);
      n.stateMachine = decodeStateMachine(rd.snapshot.data);
      n.confHistory = [{ index: rd.snapshot.metadata.index, confState: rd.snapshot.metadata.confState }];
    }
    if (rd.entries.length > 0) n.storage.append(rd.entries);
    if (rd.hardState) n.storage.setHardState(rd.hardState);
    this.messages.push(...rd.messages);
    for (const e of rd.committedEntries) {
      if (e.type === 'confChange') {
        const cs = n.rn.applyConfChange(decodeConfChange(e.data));
        n.confHistory.push({ index: e.index, confState: cs });
        this.log('info', `${n.id} switched to configuration ${describeConfig(cs)}`);
      } else if (e.data.byteLength > 0) {
        n.stateMachine.push({ index: e.index, data: decoder.decode(e.data) });
      }
    }
    n.rn.advance(rd);
  }

  // --- the network -------------------------------------------------------------------------------

  private partitioned(from: ReplicaId, to: ReplicaId): boolean {
    const a = this.partitionGroup.get(from);
    const b = this.partitionGroup.get(to);
    return a !== undefined && b !== undefined && a !== b;
  }

  /** partition 1 / 2 3: messages between the groups are dropped. One group: it against everyone else. */
  private partition(cmd: Command): void {
    const groups: ReplicaId[][] = [[]];
    for (const tok of positional(cmd)) {
      if (tok === '/') groups.push([]);
      else groups[groups.length - 1].push(...idList([tok], 'partition'));
    }
    if (groups.length === 1) groups.push(this.sortedIds().filter((id) => !groups[0].includes(id)));
    if (groups.some((g) => g.length === 0)) throw new Error('usage: partition 1 / 2 3 (every group needs a node)');
    this.partitionGroup.clear();
    groups.forEach((g, i) => g.forEach((id) => this.partitionGroup.set(id, i)));
  }

  private deliverMsgsCmd(cmd: Command): void {
    const deliver = idList(positional(cmd), 'deliver-msgs');
    const drop = idList(keyVals(cmd, 'drop') ?? [], 'deliver-msgs drop');
    const typeName = keyVals(cmd, 'type')?.[0];
    const type = typeName === undefined ? undefined : parseMessageType(typeName);
    let n = 0;
    for (const id of deliver) n += this.deliverMsgs(id, false, type);
    for (const id of drop) n += this.deliverMsgs(id, true, type);
    if (n === 0) this.out.write('no messages');
  }

  /** Delivers (or drops) the queued messages addressed to `to`, in order. Returns how many were handled. */
  private deliverMsgs(to: ReplicaId, drop: boolean, type?: MessageType): number {
    const mine = this.messages.filter((m) => m.to === to && (type === undefined || m.type === type));
    this.messages = this.messages.filter((m) => !mine.includes(m));
    for (const m of mine) {
      if (drop) {
        this.out.write(`dropped: ${describeMessage(m)}`);
        continue;
      }
      if (this.partitioned(m.from, m.to)) {
        this.out.write(`dropped (partition): ${describeMessage(m)}`);
        continue;
      }
      this.out.write(describeMessage(m));
      const target = this.node(to);
      if (isResponseMessage(m.type) && !target.rn.raft.prs.progress.has(m.from)) {
        this.out.write(`ignored: ${m.from} is not in ${to}'s configuration`);
        continue;
      }
      try {
        target.rn.step(m);
      } catch (e) {
        if (e instanceof RaftError) this.out.write(`error: ${e.message}`);
        else throw e;
      }
    }
    return mine.length;
  }

  /** Ready handling and delivery among `ids` until nothing moves (messages to others stay queued). */
  stabilize(ids: ReplicaId[], maxRounds = 1000): void {
    const nodes = ids.map((id) => this.node(id));
    for (let round = 0; round < maxRounds; round++) {
      let done = true;
      for (const n of nodes) {
        if (!n.rn.hasReady()) continue;
        this.out.write(`> ${n.id} handling Ready`);
        this.out.withIndent(() => this.processReady(n));
        done = false;
      }
      for (const n of nodes) {
        if (!this.messages.some((m) => m.to === n.id)) continue;
        this.out.write(`> ${n.id} receiving messages`);
        this.out.withIndent(() => this.deliverMsgs(n.id, false));
        done = false;
      }
      if (done) return;
    }
    throw new Error(`stabilize ${ids.join(' ')} did not settle within ${maxRounds} rounds`);
  }

  // --- inspection --------------------------------------------------------------------------------

  /** The leader's view of every replica's progress. */
  private status(n: InteractionNode): void {
    const r = n.rn.raft;
    if (r.state !== 'leader') {
      this.out.write(`${n.id} is not the leader (${describeRole(r.state)}, leader ${r.lead}, term ${r.term})`);
      return;
    }
    r.prs.visit((id, pr) => this.out.write(`${id}: ${describeProgress(pr)}`));
    if (r.leadTransferee !== 0) this.out.write(`transferring leadership to ${r.leadTransferee}`);
  }

  /** Every entry of the replica's log: durable ones, then those not yet persisted. */
  private raftLog(n: InteractionNode): void {
    const log = n.rn.raft.raftLog;
    const first = log.firstIndex();
    const last = log.lastIndex();
    if (last < first) {
      this.out.write(`log is empty: first index=${first}, last index=${last}`);
      return;
    }
    const unstableFrom = log.unstable.offset;
    for (const e of log.allEntries()) this.out.write(describeEntry(e) + (e.index >= unstableFrom ? ' (unpersisted)' : ''));
  }

  private raftState(): void {
    for (const id of this.sortedIds()) {
      const rn = this.node(id).rn;
      const r = rn.raft;
      const membership = r.prs.isVoter(id) ? 'Voter' : r.prs.progress.has(id) ? 'Learner' : 'Non-Member';
      const quiesced = r.quiesced ? ' Quiesced' : '';
      this.out.write(
        `${id}: ${describeRole(r.state)} (${membership}) Term:${r.term} Lead:${r.lead} Commit:${r.raftLog.committed} Applied:${r.raftLog.applied} LastIndex:${r.raftLog.lastIndex()}${quiesced}`,
      );
    }
  }

  private applied(ids: ReplicaId[]): void {
    for (const id of ids) {
      const n = this.node(id);
      this.out.write(`${id}: applied=${n.rn.raft.raftLog.applied} [${n.stateMachine.map((c) => JSON.stringify(c.data)).join(' ')}]`);
    }
  }

  private confStateAt(n: InteractionNode, index: number): ConfState {
    let confState = n.confHistory[0].confState;
    for (const h of n.confHistory) if (h.index <= index) confState = h.confState;
    return confState;
  }

  /** The state machine as of the last applied entry. */
  private appliedSnapshot(n: InteractionNode): Snapshot {
    const base = n.storage.compactionSnapshot();
    const index = n.rn.raft.raftLog.applied;
    if (index <= base.metadata.index) return base;
    return {
      metadata: { index, term: n.rn.raft.raftLog.term(index), confState: this.confStateAt(n, index) },
      data: encodeStateMachine(n.stateMachine.filter((c) => c.index <= index)),
    };
  }

  /** compact <id> <index>: snapshot the state machine at `index` (which must be applied) and drop the log up to it. */
  private compact(cmd: Command): void {
    const [idTok, indexTok] = positional(cmd);
    if (idTok === undefined || indexTok === undefined) throw new Error('usage: compact <id> <index>');
    const n = this.node(toInt(idTok, 'compact id'));
    const index = toInt(indexTok, 'compact index');
    const applied = n.rn.raft.raftLog.applied;
    if (index > applied) throw new Error(`compact ${n.id} ${index}: only applied entries can be compacted (applied ${applied})`);
    const confState = this.confStateAt(n, index);
    const snap: Snapshot = n.storage.createSnapshot(index, confState, encodeStateMachine(n.stateMachine.filter((c) => c.index <= index)));
    n.storage.compact(index);
    this.out.write(`${n.id} compacted its log up to ${snap.metadata.index} (snapshot term ${snap.metadata.term}, ${describeConfig(confState)})`);
    this.raftLog(n);
  }
}
