// One Transport in its own process, echoing every frame back to its sender: lets a test stop a
// real peer with SIGSTOP (TCP stays open, nothing answers). Prints {"port": n} once listening.
// Usage: node --import tsx peer-process.ts <nodeId> <peerId> <peerPort> '<limits json>'

import { Transport } from '../transport.ts';

const [nodeId, peerId, peerPort, limitsJson] = process.argv.slice(2);
if (nodeId === undefined || peerId === undefined || peerPort === undefined) {
  throw new Error('usage: peer-process.ts <nodeId> <peerId> <peerPort> [limits json]');
}

const transport: Transport = new Transport({
  nodeId,
  listen: { host: '127.0.0.1', port: 0 },
  peers: { [peerId]: { host: '127.0.0.1', port: Number(peerPort) } },
  limits: limitsJson === undefined ? {} : JSON.parse(limitsJson),
  onFrames: (from, frames) => {
    for (const frame of frames) transport.send(from, frame.groupId, frame.payload);
  },
});

await transport.start();
process.stdout.write(`${JSON.stringify({ port: transport.address().port })}\n`);
process.on('SIGTERM', () => {
  void transport.close().then(() => process.exit(0));
});
