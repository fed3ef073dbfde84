// Just enough of the NATS client protocol for tests to make a request (e.g. a JetStream
// API call) without a client library: CONNECT, SUB an inbox, PUB with reply, read one MSG.
import net from 'node:net';

export function natsRequest(clientUrl: string, subject: string, payload: string, timeoutMs = 10_000): Promise<string> {
  const url = new URL(clientUrl);
  const inbox = `_INBOX.test.${Math.random().toString(36).slice(2)}`;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: url.hostname, port: Number(url.port) });
    let buffer = '';
    let sent = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no reply to ${subject} within ${timeoutMs} ms; got: ${buffer}`));
    }, timeoutMs);
    const finish = (error: Error | null, value = '') => {
      clearTimeout(timer);
      socket.destroy();
      if (error === null) resolve(value);
      else reject(error);
    };
    socket.on('error', (e) => finish(e));
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      if (!sent && buffer.includes('\r\n')) {
        sent = true;
        const body = Buffer.from(payload);
        socket.write(`CONNECT {"verbose":false,"pedantic":false,"headers":false}\r\nSUB ${inbox} 1\r\nPUB ${subject} ${inbox} ${body.length}\r\n`);
        socket.write(Buffer.concat([body, Buffer.from('\r\n')]));
      }
      if (buffer.includes('-ERR')) finish(new Error(buffer));
      const match = /MSG \S+ 1 (\d+)\r\n/.exec(buffer);
      if (match !== null) {
        const start = (match.index ?? 0) + match[0].length;
        const size = Number(match[1]);
        if (Buffer.byteLength(buffer.slice(start)) >= size) finish(null, Buffer.from(buffer.slice(start)).subarray(0, size).toString('utf8'));
      }
      if (buffer.includes('PING\r\n')) socket.write('PONG\r\n');
    });
  });
}
