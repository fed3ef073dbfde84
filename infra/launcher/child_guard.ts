// Preloaded (`--import`) into every TypeScript child the supervisor forks: when the IPC
// channel to the launcher closes — the launcher exited, even by SIGKILL — the child stops
// itself, through its own SIGTERM handling so a graceful shutdown still runs.
const SELF_STOP_GRACE_MS = 5_000;

function stopSelf(): void {
  setTimeout(() => process.exit(1), SELF_STOP_GRACE_MS).unref();
  process.kill(process.pid, 'SIGTERM');
}

if (process.send !== undefined) {
  // The channel may already have closed while modules were loading (asynchronously, before
  // this listener existed): then 'disconnect' has fired and will not fire again.
  if (!process.connected) stopSelf();
  else process.on('disconnect', stopSelf);
  // The listener must not by itself keep an otherwise finished child alive.
  process.channel?.unref();
}

export {};
