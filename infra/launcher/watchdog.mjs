// Fallback orphan guard (used when `setpriv --pdeathsig` is unavailable): a tiny plain-JS
// process forked by the launcher. It is told which PIDs to guard; when the launcher's PID
// disappears or the IPC channel closes, it signals each of them, SIGKILLs the ones still
// alive after their grace time, and exits.
const POLL_MS = 500;
const launcherPid = Number(process.argv[2]);
/** pid → { signal, graceMs } */
const watched = new Map();

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

let firing = false;
function fire() {
  if (firing) return;
  firing = true;
  let graceMs = 0;
  for (const [pid, { signal, graceMs: g }] of watched) {
    try {
      process.kill(pid, signal);
    } catch {}
    graceMs = Math.max(graceMs, g);
  }
  const deadline = Date.now() + graceMs;
  const sweep = setInterval(() => {
    const left = [...watched.keys()].filter(alive);
    if (left.length === 0 || Date.now() > deadline) {
      for (const pid of left) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
      }
      clearInterval(sweep);
      process.exit(0);
    }
  }, 100);
}

process.on('message', (m) => {
  if (m.op === 'watch') {
    watched.set(m.pid, { signal: m.signal, graceMs: m.graceMs });
    process.send?.({ op: 'watched', pid: m.pid });
  }
  else if (m.op === 'unwatch') watched.delete(m.pid);
});
process.on('disconnect', fire);
// Terminal signals go to the launcher, which stops its children itself.
process.on('SIGINT', () => {});
process.on('SIGHUP', () => {});
setInterval(() => {
  if (!alive(launcherPid) || process.ppid !== launcherPid) fire();
}, POLL_MS);
process.send?.({ op: 'ready' });
