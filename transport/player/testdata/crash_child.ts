// A player process for the crash test: applies a stream in small batches and reports progress over
// IPC, until the parent SIGKILLs it (possibly in the middle of a SQLite commit).
import { PlayerClient } from '../client.ts';

const [dbPath, natsUrl, playerId, eventUid, eventsWorker] = process.argv.slice(2) as [string, string, string, string, string | undefined];
const client = PlayerClient.open({ playerId, dbPath, eventsServers: [natsUrl], applyBatchMax: 16, eventsWorker: eventsWorker === 'true' });
let applied = 0;
client.onApply((_path, r) => {
  applied += r.applied;
  process.send?.({ applied });
});
await client.join(eventUid);
await client.connect();
process.send?.({ applied });
