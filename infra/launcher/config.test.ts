import { describe, expect, it } from 'vitest';
import { directRoutes, renderNatsConfig, ringRoutePeer } from './nats_config.ts';
import { renderNimmerConf, renderPgHba, socketDirFor } from './postgres_config.ts';

describe('nats-server config', () => {
  it('renders a clustered JetStream server bound to loopback', () => {
    const text = renderNatsConfig({
      name: 'nats1',
      host: '127.0.0.1',
      clientPort: 4001,
      monitorPort: 8001,
      storeDir: '/data/nats/nats1',
      jetstreamMemoryBytesMax: 1024,
      jetstreamFileBytesMax: 2048,
      cluster: { name: 'nimmer', port: 6001, routes: directRoutes('127.0.0.1', [6000, 6001, 6002], 1) },
    });
    expect(text).toContain('server_name: "nats1"');
    expect(text).toContain('listen: "127.0.0.1:4001"');
    expect(text).toContain('http: "127.0.0.1:8001"');
    expect(text).toMatch(/jetstream \{\n {2}store_dir: "\/data\/nats\/nats1"\n {2}max_memory_store: 1024\n {2}max_file_store: 2048\n\}/);
    expect(text).toContain('routes: ["nats-route://127.0.0.1:6000", "nats-route://127.0.0.1:6002"]');
    expect(text).not.toContain('advertise');
  });

  it('renders a single server without a cluster block, and quotes paths', () => {
    const text = renderNatsConfig({
      name: 'nats0',
      host: '127.0.0.1',
      clientPort: 1,
      monitorPort: 2,
      storeDir: '/tmp/with "quote"',
      jetstreamMemoryBytesMax: 1,
      jetstreamFileBytesMax: 1,
    });
    expect(text).not.toContain('cluster');
    expect(text).toContain('store_dir: "/tmp/with \\"quote\\""');
    expect(text).not.toContain('prof_port');
    expect(renderNatsConfig({ name: 'n', host: '127.0.0.1', clientPort: 1, monitorPort: 2, storeDir: '/d', jetstreamMemoryBytesMax: 1, jetstreamFileBytesMax: 1, profPort: 6565 })).toContain('prof_port: 6565');
  });

  it('a ring of solicited routes covers every pair exactly once', () => {
    const pairs = [0, 1, 2].map((i) => [i, ringRoutePeer(i, 3)].sort().join('-'));
    expect(new Set(pairs)).toEqual(new Set(['0-1', '1-2', '0-2']));
  });
});

describe('postgres config', () => {
  it('turns on logical decoding and durability, on loopback only', () => {
    const text = renderNimmerConf({ socketDir: '/d/pg', sharedBuffersMb: 128, connectionsMax: 100, replicationSlotsMax: 16, walSendersMax: 16 });
    for (const line of [
      "listen_addresses = '127.0.0.1'",
      "unix_socket_directories = '/d/pg'",
      'wal_level = logical',
      'max_replication_slots = 16',
      'max_wal_senders = 16',
      'fsync = on',
      "shared_buffers = '128MB'",
    ]) {
      expect(text).toContain(line);
    }
  });

  it('trusts loopback connections only', () => {
    const rules = renderPgHba().split('\n').filter((l) => /^(local|host)/.test(l));
    for (const rule of rules) expect(rule).toMatch(/^local|127\.0\.0\.1\/32|::1\/128/);
    expect(rules.some((r) => r.startsWith('host') && r.includes('0.0.0.0'))).toBe(false);
  });

  it('falls back to TCP only when the socket path would not fit sun_path', () => {
    expect(socketDirFor('/tmp/x/postgres', 5432)).toBe('/tmp/x/postgres');
    expect(socketDirFor(`/tmp/${'d'.repeat(100)}`, 5432)).toBe('');
  });
});
