// Free TCP port allocation on loopback. A port is only "free a moment ago": callers that
// hand one to another process retry with fresh ports when that process hits EADDRINUSE.
import net from 'node:net';

export const LOOPBACK = '127.0.0.1';

/** A port the kernel picked for a listener on host, released again. */
export function freePort(host = LOOPBACK): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('kernel returned no port'))));
    });
  });
}

/** Whether a listener can bind host:port right now (false on EADDRINUSE/EACCES). */
export function isPortFree(port: number, host = LOOPBACK): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

const ALLOCATE_ATTEMPTS_MAX = 20;

/**
 * `count` distinct ports: each preferred one (by position) when it is free and not
 * already taken in this allocation, otherwise a fresh kernel-picked one.
 */
export async function allocatePorts(
  count: number,
  preferred: ReadonlyArray<number | undefined> = [],
  host = LOOPBACK,
): Promise<number[]> {
  const taken = new Set<number>();
  const ports: number[] = [];
  for (let i = 0; i < count; i++) {
    const wish = preferred[i];
    if (wish !== undefined && !taken.has(wish) && (await isPortFree(wish, host))) {
      taken.add(wish);
      ports.push(wish);
      continue;
    }
    let port = 0;
    for (let attempt = 0; attempt < ALLOCATE_ATTEMPTS_MAX && (port === 0 || taken.has(port)); attempt++) {
      port = await freePort(host);
    }
    if (port === 0 || taken.has(port)) throw new Error(`could not find ${count} distinct free ports on ${host}`);
    taken.add(port);
    ports.push(port);
  }
  return ports;
}

/** A bind failure reported by a child process (its log says so). */
export function looksLikeAddressInUse(text: string): boolean {
  return /address already in use|EADDRINUSE|could not bind/i.test(text);
}

/** A child process lost a race for its port; the caller may retry with fresh ports. */
export class PortInUseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PortInUseError';
  }
}

/**
 * Runs `attempt` up to `attemptsMax` times while it fails with PortInUseError;
 * `attempt` receives the attempt number and must allocate fresh ports after the first.
 */
export async function retryOnPortInUse<T>(attempt: (n: number) => Promise<T>, attemptsMax = 3): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (e) {
      if (!(e instanceof PortInUseError) || n + 1 >= attemptsMax) throw e;
    }
  }
}

/** Resolves once host:port accepts a TCP connection, or rejects after timeoutMs. */
export async function waitForTcp(port: number, host = LOOPBACK, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ port, host });
      socket.setTimeout(1000);
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
      socket.once('timeout', () => {
        socket.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${host}:${port} did not accept connections within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
