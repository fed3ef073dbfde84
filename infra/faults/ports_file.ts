// The proxies' ports, kept in the data dir so a resumed cluster's proxies come back where the
// node config (peerAddresses, natsPerNode) and the NATS route config point.
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';

export const PROXY_PORTS_FILE = 'fault-proxies.json';

const PortsSchema = z.strictObject({ ports: z.record(z.string(), z.number().int().min(1).max(65_535)) });

/** The stored ports, or none on a fresh (or unreadable: the proxies then take new ports) data dir. */
export async function readProxyPorts(dataDir: string): Promise<Record<string, number>> {
  let text: string;
  try {
    text = await readFile(path.join(dataDir, PROXY_PORTS_FILE), 'utf8');
  } catch {
    return {};
  }
  try {
    const parsed = PortsSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data.ports : {};
  } catch {
    return {};
  }
}

export async function writeProxyPorts(dataDir: string, ports: Record<string, number>): Promise<void> {
  const file = path.join(dataDir, PROXY_PORTS_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify({ ports }, null, 2)}\n`);
  await rename(tmp, file);
}
