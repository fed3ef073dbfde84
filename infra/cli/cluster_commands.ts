// `nimmer status`, `nimmer equilibrium`, `nimmer fault …`: clients of a running `nimmer up`.
import type { Command } from 'commander';
import { CONTROLLER_URL_DEFAULT, ControllerAnswerError, ControllerClient } from './controller_client.ts';
import { renderEquilibrium, renderGlobalEquilibrium, renderStatus, type ClusterAnswer, type EquilibriumAnswer, type GlobalEquilibriumAnswer, type HealthAnswer } from './render.ts';

const URL_HELP = `the controller of \`nimmer up\` (default ${CONTROLLER_URL_DEFAULT})`;

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** `2` or `n2` → `n2`. */
export function nodeArg(text: string): string {
  const m = /^n?([1-9][0-9]{0,8})$/.exec(text.trim());
  if (m === null) throw new Error(`'${text}' is not a node; name one like n2 (or 2)`);
  return `n${m[1]}`;
}

/** A member of a network fault: a node (`n2`, `2`) or a local NATS server (`nats0`). */
export function memberArg(text: string): string {
  const t = text.trim();
  if (/^nats[0-9]{1,2}$/.test(t)) return t;
  try {
    return nodeArg(t);
  } catch {
    throw new Error(`'${text}' is neither a node (n2) nor a NATS server (nats0)`);
  }
}

/** `n1,n2` → ['n1', 'n2']. */
export function membersArg(text: string): string[] {
  return text.split(',').filter((x) => x.trim() !== '').map(memberArg);
}

/** `100kB/s`, `1MB/s`, `5000` (bytes per second) → bytes per second. */
export function rateArg(text: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*(B|kB|KB|MB|GB)?(?:\/s)?$/.exec(text.trim());
  if (m === null) throw new Error(`'${text}' is not a rate; write e.g. 100kB/s, 1MB/s or 5000 (bytes per second)`);
  const unit = { B: 1, kB: 1000, KB: 1000, MB: 1_000_000, GB: 1_000_000_000 }[m[2] ?? 'B'] ?? 1;
  return Math.max(1, Math.round(Number(m[1]) * unit));
}

const MS_PER_UNIT: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };

/** `200ms`, `1.5s`, `2m`, `200` (ms) → milliseconds. */
export function durationMsArg(text: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m)?$/.exec(text.trim());
  if (m === null) throw new Error(`'${text}' is not a duration; write e.g. 200ms, 1.5s or 2m`);
  return Math.round(Number(m[1]) * (MS_PER_UNIT[m[2] ?? 'ms'] ?? 1));
}

export async function runStatus(client: ControllerClient, json: boolean): Promise<void> {
  const cluster = (await client.expectOk('GET', '/cluster')) as ClusterAnswer;
  const health = await client.request('GET', '/health');
  if (json) {
    print(JSON.stringify({ ...cluster, health: health.body }, null, 2));
    return;
  }
  print(renderStatus(cluster, health.body as HealthAnswer));
}

export async function runEquilibrium(client: ControllerClient, shard: string | undefined, consistency: string, json: boolean): Promise<void> {
  const query = `?consistency=${encodeURIComponent(consistency)}`;
  let ids: string[];
  if (shard !== undefined && shard !== ALL_SHARDS) ids = [shard];
  else {
    const map = (await client.expectOk('GET', '/shards')) as { shards?: Array<{ id?: string }> };
    ids = (map.shards ?? []).flatMap((s) => (s.id !== undefined ? [s.id] : []));
    if (ids.length === 0) {
      print('no shards yet (the bootstrap of `nimmer up` may still be running)');
      return;
    }
  }
  const answers: EquilibriumAnswer[] = [];
  const failures: string[] = [];
  for (const id of ids) {
    const r = await client.request('GET', `/shards/${encodeURIComponent(id)}/equilibrium${query}`);
    if (r.status === 200) answers.push(r.body as EquilibriumAnswer);
    else failures.push(new ControllerAnswerError(r.status, r.body, `shard ${id}`).message);
  }
  if (json) print(JSON.stringify(answers, null, 2));
  else print(answers.map((a) => renderEquilibrium(a, consistency)).join('\n\n'));
  if (failures.length > 0) {
    for (const f of failures) console.error(f);
    process.exitCode = 1;
  }
}

const ALL_SHARDS = 'all';

/** The eventual view: GET /equilibrium answers from the local CRDT replica of whichever node serves it. */
export async function runGlobalEquilibrium(client: ControllerClient, json: boolean): Promise<void> {
  const eq = (await client.expectOk('GET', '/equilibrium')) as GlobalEquilibriumAnswer;
  print(json ? JSON.stringify(eq, null, 2) : renderGlobalEquilibrium(eq));
}

async function injectFault(client: ControllerClient, fault: Record<string, unknown>): Promise<void> {
  const r = (await client.expectOk('POST', '/faults', fault)) as { id?: string; active?: boolean; connections?: number };
  const target =
    fault.node ??
    (fault.server !== undefined ? `nats-server ${String(fault.server)}` : fault.type === 'ring' ? JSON.stringify(fault.nodes ?? 'all nodes') : JSON.stringify(fault.groups ?? [fault.from, fault.to]));
  const reset = r.connections !== undefined ? `, ${r.connections} connections reset` : '';
  print(
    `${String(fault.type)} ${String(target)}: done (fault ${r.id ?? '?'}${reset}${r.active === false ? ', already over' : ', active until `nimmer fault heal`'})`,
  );
}

export function registerClusterCommands(program: Command): void {
  program
    .command('status')
    .description('nodes, shards, leaders, terms, commit indexes and active faults of a running `nimmer up`')
    .option('--url <url>', URL_HELP, CONTROLLER_URL_DEFAULT)
    .option('--json', 'print the raw JSON')
    .action(async (o: { url: string; json?: boolean }) => runStatus(new ControllerClient(o.url), o.json === true));

  program
    .command('equilibrium [shard]')
    .description("one shard's equilibrium (linearizable by default); with no shard, the global eventual view (CRDT) of one node; 'all' reads every shard")
    .option('--url <url>', URL_HELP, CONTROLLER_URL_DEFAULT)
    .option('--consistency <c>', 'linearizable or stale', 'linearizable')
    .option('--json', 'print the raw JSON')
    .action(async (shard: string | undefined, o: { url: string; consistency: string; json?: boolean }) => {
      if (o.consistency !== 'linearizable' && o.consistency !== 'stale') throw new Error(`--consistency must be linearizable or stale, got '${o.consistency}'`);
      if (shard === undefined) await runGlobalEquilibrium(new ControllerClient(o.url), o.json === true);
      else await runEquilibrium(new ControllerClient(o.url), shard, o.consistency, o.json === true);
    });

  const fault = program
    .command('fault')
    .description('inject faults into a running `nimmer up`: real signals to real processes, and network faults on the TCP fault proxies every link runs through');
  const withUrl = (c: Command) => c.option('--url <url>', URL_HELP, CONTROLLER_URL_DEFAULT);
  for (const type of ['kill', 'pause', 'restart'] as const) {
    const what = { kill: 'SIGKILL a node', pause: 'SIGSTOP a node (heal resumes it)', restart: 'stop a node gracefully and start it again' }[type];
    withUrl(fault.command(`${type} <node>`).description(what)).action(async (node: string, o: { url: string }) =>
      injectFault(new ControllerClient(o.url), { type, node: nodeArg(node) }),
    );
  }
  withUrl(fault.command('isolate <node>').description('cut a node off from every other node and from NATS (both ways)'))
    .option('--keep-nats', 'cut it from the other nodes only')
    .action(async (node: string, o: { url: string; keepNats?: boolean }) =>
      injectFault(new ControllerClient(o.url), { type: 'isolate', node: nodeArg(node), nats: o.keepNats !== true }),
    );
  withUrl(
    fault
      .command('partition <groups...>')
      .description('split the nodes into groups with no traffic between them, e.g. `partition n1,n2 n3`; a group may hold NATS servers (nats0); unlisted nodes form one more group'),
  ).action(async (groups: string[], o: { url: string }) =>
    injectFault(new ControllerClient(o.url), { type: 'partition', groups: groups.map(membersArg) }),
  );
  withUrl(fault.command('one-way <from> <to>').description('a one-way partition: what <from> sends never reaches <to>, e.g. `one-way n1 n2,n3`')).action(
    async (from: string, to: string, o: { url: string }) => injectFault(new ControllerClient(o.url), { type: 'partition', from: membersArg(from), to: membersArg(to) }),
  );
  withUrl(fault.command('ring [nodes...]').description('a majorities ring (every node hears a majority, no two the same one), in the given order or by id')).action(
    async (nodes: string[], o: { url: string }) =>
      injectFault(new ControllerClient(o.url), { type: 'ring', ...(nodes.length > 0 ? { nodes: nodes.map(nodeArg) } : {}) }),
  );
  withUrl(fault.command('latency <from> <to> <delay>').description('delay traffic from one node (or list, or nats0) to another, e.g. `latency n1 n2 200ms --jitter 50ms`'))
    .option('--jitter <delay>', 'each chunk is delayed by delay ± up to this (order is kept)')
    .option('--both', 'both ways')
    .action(async (from: string, to: string, delay: string, o: { url: string; jitter?: string; both?: boolean }) =>
      injectFault(new ControllerClient(o.url), {
        type: 'latency',
        from: membersArg(from),
        to: membersArg(to),
        ms: durationMsArg(delay),
        ...(o.jitter !== undefined ? { jitterMs: durationMsArg(o.jitter) } : {}),
        bidirectional: o.both === true,
      }),
    );
  withUrl(fault.command('bandwidth <from> <to> <rate>').description('limit the bandwidth from one member to another, e.g. `bandwidth n1 n2 100kB/s`'))
    .option('--both', 'both ways')
    .action(async (from: string, to: string, rate: string, o: { url: string; both?: boolean }) =>
      injectFault(new ControllerClient(o.url), { type: 'bandwidth', from: membersArg(from), to: membersArg(to), bytesPerSecond: rateArg(rate), bidirectional: o.both === true }),
    );
  withUrl(fault.command('reset <from> <to>').description('reset (RST) the open connections between two members, e.g. `reset n1 n2`'))
    .option('--every <delay>', 'keep resetting: each new connection this long after it opens, until healed')
    .action(async (from: string, to: string, o: { url: string; every?: string }) =>
      injectFault(new ControllerClient(o.url), {
        type: 'reset',
        from: membersArg(from),
        to: membersArg(to),
        ...(o.every !== undefined ? { afterMs: durationMsArg(o.every) } : {}),
      }),
    );
  withUrl(fault.command('nats-kill <server>').description('SIGKILL a local nats-server (0, 1, 2)')).action(async (server: string, o: { url: string }) => {
    const index = Number(server);
    if (!Number.isInteger(index) || index < 0) throw new Error(`'${server}' is not a nats-server index (0, 1, 2)`);
    await injectFault(new ControllerClient(o.url), { type: 'nats-kill', server: index });
  });
  withUrl(fault.command('heal [id]').description('end every fault (restart killed nodes, resume paused ones), or the one with this id')).action(
    async (id: string | undefined, o: { url: string }) => {
      const client = new ControllerClient(o.url);
      if (id !== undefined) {
        await client.expectOk('DELETE', `/faults/${encodeURIComponent(id)}`);
        print(`healed ${id}`);
        return;
      }
      const r = (await client.expectOk('DELETE', '/faults')) as { healed?: string[]; restarted?: string[] };
      const healed = r.healed ?? [];
      const restarted = r.restarted ?? [];
      print(
        healed.length === 0 && restarted.length === 0
          ? 'nothing to heal'
          : `healed ${healed.length > 0 ? healed.join(', ') : 'no active fault'}${restarted.length > 0 ? `; restarted ${restarted.join(', ')}` : ''}`,
      );
    },
  );
  withUrl(fault.command('list').description('the active faults')).action(async (o: { url: string }) => {
    const r = (await new ControllerClient(o.url).expectOk('GET', '/faults')) as { faults?: unknown[] };
    print(JSON.stringify(r.faults ?? [], null, 2));
  });
}
