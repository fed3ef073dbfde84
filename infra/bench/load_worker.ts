// The load generator's process (see load.ts): `run` requests over IPC, one at a time.
import { serveIpc } from '../proc/spawn_ts.ts';
import { runLoad, type LoadSpec } from './load.ts';

serveIpc(async (msg) => {
  if (msg.cmd === 'ping') return 'pong';
  if (msg.cmd === 'run') return runLoad(msg.spec as LoadSpec);
  throw new Error(`load worker: unknown command '${msg.cmd}' (expected ping or run)`);
});
