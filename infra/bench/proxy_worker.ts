// A child process of `nimmer bench proxy`: an echo server, or a fault proxy in front of one
// (separate processes, as the controller's proxies and the nodes are in a real cluster).
import net from 'node:net';
import { seededRandom } from '../../consensus/raft/index.ts';
import { LinkProxy } from '../faults/index.ts';
import { serveIpc } from '../proc/spawn_ts.ts';

let echo: net.Server | null = null;
let proxy: LinkProxy | null = null;

serveIpc(async (msg) => {
  if (msg.cmd === 'echo') {
    echo = net.createServer((s) => {
      s.setNoDelay(true);
      s.on('error', () => undefined);
      s.pipe(s);
    });
    await new Promise<void>((r) => echo!.listen(0, '127.0.0.1', r));
    return (echo.address() as net.AddressInfo).port;
  }
  if (msg.cmd === 'proxy') {
    const port = Number(msg.port);
    proxy = await LinkProxy.open({ name: 'bench', host: '127.0.0.1', port: 0, target: () => ({ host: '127.0.0.1', port }), random: seededRandom(1) });
    return proxy.port;
  }
  throw new Error(`unknown command ${msg.cmd}`);
});
