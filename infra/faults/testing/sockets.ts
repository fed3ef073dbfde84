// Real sockets for the fault tests: a TCP echo server, and a client that records what it gets.
import net from 'node:net';

/** Things to close after a test, in reverse order. */
export type Closeable = { close(): unknown };

/** Echoes every byte back; records what it received and how connections ended. */
export async function echoServer(open: Closeable[]): Promise<{ port: number; received: () => Buffer; connections: () => number; server: net.Server }> {
  let received = Buffer.alloc(0);
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    connections += 1;
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
    s.on('data', (c: Buffer) => {
      received = Buffer.concat([received, c]);
      s.write(c);
    });
    s.on('end', () => s.end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  open.push({ close: () => { for (const s of sockets) s.destroy(); return new Promise((r) => server.close(r)); } });
  return { port: (server.address() as net.AddressInfo).port, received: () => received, connections: () => connections, server };
}

export interface Client {
  socket: net.Socket;
  received: () => Buffer;
  waitFor(bytes: number, timeoutMs?: number): Promise<Buffer>;
  closed: Promise<{ error: string | null }>;
}

export async function connect(open: Closeable[], port: number): Promise<Client> {
  const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
  let received = Buffer.alloc(0);
  let error: string | null = null;
  const waiters: Array<() => void> = [];
  socket.on('data', (c: Buffer) => {
    received = Buffer.concat([received, c]);
    for (const w of waiters.splice(0)) w();
  });
  socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
  const closed = new Promise<{ error: string | null }>((r) => socket.on('close', () => r({ error })));
  await new Promise<void>((r, j) => {
    socket.once('connect', r);
    socket.once('error', j);
  });
  open.push({ close: () => socket.destroy() });
  return {
    socket,
    received: () => received,
    closed,
    waitFor(bytes, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`got ${received.length} of ${bytes} bytes within ${timeoutMs} ms`)), timeoutMs);
        const check = () => {
          if (received.length >= bytes) {
            clearTimeout(timer);
            resolve(received);
          } else waiters.push(check);
        };
        check();
      });
    },
  };
}

