// The `nimmer` command line: one place that lists every command.
import { Command } from 'commander';
import { registerBenchCommands } from '../bench/cli.ts';
import { registerCheckCommand } from '../check/cli.ts';
import { registerUpCommand } from '../up/cli.ts';
import { registerClusterCommands } from './cluster_commands.ts';

const program = new Command();
program.name('nimmer').description('GM-shard consensus service: Raft for strong state, Automerge over NATS for eventual state');
registerUpCommand(program);
registerClusterCommands(program);
registerCheckCommand(program);
registerBenchCommands(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
