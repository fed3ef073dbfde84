// Preloaded into node processes the cluster bench profiles (NODE_OPTIONS="--import <this file>",
// as --cpu-prof is not allowed there): starts and stops the V8 sampling profiler and an event-loop
// delay histogram on IPC requests, so both cover the measured window only. Plain JavaScript: it
// may load before tsx does.
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';

let session = null;
let loopDelay = null;

process.on('message', (msg) => {
  if (msg === null || typeof msg !== 'object' || typeof msg.cmd !== 'string' || !msg.cmd.startsWith('cpu-profile-')) return;
  const reply = (ok, result, error) => process.send?.({ id: msg.id, ok, result, error });
  (async () => {
    if (msg.cmd === 'cpu-profile-start') {
      if (session !== null) throw new Error('the CPU profiler is already running in this process');
      session = new Session();
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: msg.intervalUs ?? 1000 });
      await session.post('Profiler.start');
      loopDelay = monitorEventLoopDelay({ resolution: 5 });
      loopDelay.enable();
      return { pid: process.pid };
    }
    if (msg.cmd === 'cpu-profile-stop') {
      if (session === null) throw new Error('the CPU profiler is not running in this process; send cpu-profile-start first');
      loopDelay.disable();
      // The histogram's samples include its timer period (5 ms): an idle loop reads ~5 ms. Subtracted.
      const ms = (ns) => Math.max(0, ns / 1e6 - 5);
      const eventLoopDelayMs = { mean: ms(loopDelay.mean), p50: ms(loopDelay.percentile(50)), p99: ms(loopDelay.percentile(99)), max: ms(loopDelay.max) };
      loopDelay = null;
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      session = null;
      await writeFile(msg.file, JSON.stringify(profile));
      return { file: msg.file, eventLoopDelayMs };
    }
    throw new Error(`unknown profiler command '${msg.cmd}' (expected cpu-profile-start or cpu-profile-stop)`);
  })().then(
    (result) => reply(true, result),
    (e) => reply(false, undefined, e instanceof Error ? e.message : String(e)),
  );
});
