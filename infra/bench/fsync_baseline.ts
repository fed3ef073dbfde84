// The disk's raw fsync rate: the ceiling any durable log on this machine works under.
import { open, rm } from 'node:fs/promises';
import path from 'node:path';

export async function measureFsyncPerSec(dir: string, durationMs = 2000, recordBytes = 256): Promise<{ fsyncsPerSec: number; fsyncMsMean: number }> {
  const file = path.join(dir, 'fsync-baseline.bin');
  const fh = await open(file, 'w');
  const buf = Buffer.alloc(recordBytes, 7);
  let n = 0;
  const t0 = performance.now();
  try {
    while (performance.now() - t0 < durationMs) {
      await fh.write(buf);
      await fh.datasync();
      n++;
    }
  } finally {
    await fh.close();
    await rm(file, { force: true });
  }
  const elapsed = performance.now() - t0;
  return { fsyncsPerSec: (n / elapsed) * 1000, fsyncMsMean: elapsed / n };
}
