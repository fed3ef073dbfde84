import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { installTransportWhenReachable, isPostgresUnreachable, postgresHost } from './startup.ts';

function codeError(code: string, message = code): Error {
  return Object.assign(new Error(message), { code });
}

describe('relay startup: waiting for Postgres', () => {
  it('waits out a server that is down, starting, stopping or full', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P03', '57P01', '53300', '08006', '08001']) {
      expect(isPostgresUnreachable(codeError(code)), code).toBe(true);
    }
    expect(isPostgresUnreachable(new Error('Connection terminated unexpectedly'))).toBe(true);
  });

  it('does not wait out a configuration error', () => {
    // invalid_password, invalid_catalog_name (no such database), insufficient_privilege, a syntax error
    for (const code of ['28P01', '3D000', '42501', '42601']) expect(isPostgresUnreachable(codeError(code)), code).toBe(false);
    expect(isPostgresUnreachable(new Error('something else'))).toBe(false);
  });

  it('names the server in log lines without the credentials', () => {
    expect(postgresHost('postgres://nimmer:secret@127.0.0.1:5544/nimmer')).toBe('127.0.0.1:5544/nimmer');
    expect(postgresHost('not a url')).toBe('(unparseable Postgres URL)');
  });

  it('retries a port nothing listens on with growing pauses, logging each failure', async () => {
    // A port that was free a moment ago: connecting to it is refused by the kernel.
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const warnings: Array<{ attempt: number; pauseMs: number }> = [];
    const log = { info: () => undefined, error: () => undefined, warn: (o: object) => void warnings.push(o as { attempt: number; pauseMs: number }) };
    await expect(installTransportWhenReachable(`postgres://x@127.0.0.1:${port}/x`, log, { retryBaseMs: 20, retryMaxMs: 80, giveUpAfterMs: 400 })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(warnings.length).toBeGreaterThanOrEqual(3);
    expect(warnings.slice(0, 3).map((w) => w.pauseMs)).toEqual([20, 40, 80]);
    expect(warnings.map((w) => w.attempt)).toEqual(warnings.map((_, i) => i + 1));
  });
});
