// `nimmer status`, `nimmer equilibrium`, `nimmer fault …`: clients of a running `nimmer up`.
import type { Command } from 'commander';
import { CONTROLLER_URL_DEFAULT, ControllerAnswerError, ControllerClient } from './controller_client.ts';
import { renderEquilibrium, renderStatus, type ClusterAnswer, type EquilibriumAnswer, type HealthAnswer } from './render.ts';

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
  if (shard !== undefined) ids = [shard];
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

async function injectFault(client: ControllerClient, fault: Record<string, unknown>): Promise<void> {
  const r = (await client.expectOk('POST', '/faults', fault)) as { id?: string; active?: boolean };
  const target = fault.node ?? (fault.server !== undefined ? `nats-server ${String(fault.server)}` : JSON.stringify(fault.groups ?? [fault.from, fault.to]));
  print(
    `${String(fault.type)} ${String(target)}: done (fault ${r.id ?? '?'}${r.active === false ? ', already over' : ', active until `nimmer fault heal`'})`,
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
    .description('the equilibrium of one shard, or of every shard, as tables (linearizable reads by default)')
    .option('--url <url>', URL_HELP, CONTROLLER_URL_DEFAULT)
    .option('--consistency <c>', 'linearizable or stale', 'linearizable')
    .option('--json', 'print the raw JSON')
    .action(async (shard: string | undefined, o: { url: string; consistency: string; json?: boolean }) => {
      if (o.consistency !== 'linearizable' && o.consistency !== 'stale') throw new Error(`--consistency must be linearizable or stale, got '${o.consistency}'`);
      await runEquilibrium(new ControllerClient(o.url), shard, o.consistency, o.json === true);
    });

  const fault = program.command('fault').description('inject faults into a running `nimmer up` (real signals to real processes)');
  const withUrl = (c: Command) => c.option('--url <url>', URL_HELP, CONTROLLER_URL_DEFAULT);
  for (const type of ['kill', 'pause', 'restart'] as const) {
    const what = { kill: 'SIGKILL a node', pause: 'SIGSTOP a node (heal resumes it)', restart: 'stop a node gracefully and start it again' }[type];
    withUrl(fault.command(`${type} <node>`).description(what)).action(async (node: string, o: { url: string }) =>
      injectFault(new ControllerClient(o.url), { type, node: nodeArg(node) }),
    );
  }
  withUrl(fault.command('isolate <node>').description('cut a node off from every other node')).action(async (node: string, o: { url: string }) =>
    injectFault(new ControllerClient(o.url), { type: 'isolate', node: nodeArg(node) }),
  );
  withUrl(fault.command('partition <groups...>').description('split the nodes into groups, e.g. `partition n1,n2 n3`')).action(
    async (groups: string[], o: { url: string }) =>
      injectFault(new ControllerClient(o.url), { type: 'partition', groups: groups.map((g) => g.split(',').filter((x) => x !== '').map(nodeArg)) }),
  );
  withUrl(fault.command('latency <from> <to> <delay>').description('delay traffic from one node to another, e.g. `latency n1 n2 200ms`')).action(
    async (from: string, to: string, delay: string, o: { url: string }) =>
      injectFault(new ControllerClient(o.url), { type: 'latency', from: nodeArg(from), to: nodeArg(to), ms: durationMsArg(delay) }),
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
