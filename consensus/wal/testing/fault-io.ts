// A WalIo over the real file system that records what has been made durable, counts fsyncs, can
// delay or fail them, and can simulate a crash: afterwards every file loses a random part of what
// was written but not fsync'd.

import fs from 'node:fs/promises';
import { nodeWalIo, type WalFile, type WalIo } from '../io.ts';
import type { Prng } from '../../codec/testing/prng.ts';

interface Tracked {
  /** Bytes known durable (written before a datasync that returned before the crash). */
  durable: number;
  /** End of the furthest completed write. */
  written: number;
}

export class SimulatedCrash extends Error {
  constructor() {
    super('simulated crash');
  }
}

export class FaultIo implements WalIo {
  private readonly files = new Map<string, Tracked>();
  crashed = false;
  datasyncCount = 0;
  /** Σ durable bytes of segment files ever (deleted files included). */
  segmentBytesDurableTotal = 0;
  datasyncDelayMs = 0;
  /** When set, the n-th datasync from now fails. */
  failDatasyncIn: number | undefined = undefined;
  private inFlight = 0;

  private async op<T>(f: () => Promise<T>): Promise<T> {
    if (this.crashed) throw new SimulatedCrash();
    this.inFlight++;
    try {
      const result = await f();
      if (this.crashed) throw new SimulatedCrash();
      return result;
    } finally {
      this.inFlight--;
    }
  }

  private wrap(path: string, inner: WalFile): WalFile {
    const tracked = this.files.get(path) ?? { durable: 0, written: 0 };
    this.files.set(path, tracked);
    const file: WalFile = {
      write: (bytes, position) =>
        this.op(async () => {
          await inner.write(bytes, position);
          tracked.written = Math.max(tracked.written, position + bytes.byteLength);
        }),
      // Modelled as a write and a datasync (same counts, delays and injected failures): a crash between
      // the two keeps a random part of the bytes, as a torn O_DSYNC write may.
      writeDurable: async (bytes, position) => {
        await file.write(bytes, position);
        await file.datasync();
      },
      datasync: () =>
        this.op(async () => {
          const upTo = tracked.written;
          if (this.failDatasyncIn !== undefined && --this.failDatasyncIn <= 0) {
            this.failDatasyncIn = undefined;
            throw Object.assign(new Error('injected EIO on fdatasync'), { code: 'EIO' });
          }
          if (this.datasyncDelayMs > 0) await new Promise((r) => setTimeout(r, this.datasyncDelayMs));
          await inner.datasync();
          if (this.crashed) return;
          this.datasyncCount++;
          if (upTo > tracked.durable) {
            if (path.endsWith('.wal')) this.segmentBytesDurableTotal += upTo - tracked.durable;
            tracked.durable = upTo;
          }
        }),
      truncate: (bytes) =>
        this.op(async () => {
          await inner.truncate(bytes);
          tracked.written = Math.min(tracked.written, bytes);
          tracked.durable = Math.min(tracked.durable, bytes);
        }),
      close: () => inner.close(), // closing is allowed after a crash so handles do not leak
    };
    return file;
  }

  mkdir(p: string) {
    return this.op(() => nodeWalIo.mkdir(p));
  }
  readdir(p: string) {
    return this.op(() => nodeWalIo.readdir(p));
  }
  readFile(p: string) {
    return this.op(() => nodeWalIo.readFile(p));
  }
  async create(p: string, exclusive: boolean) {
    const inner = await this.open(() => nodeWalIo.create(p, exclusive));
    this.files.set(p, { durable: 0, written: 0 });
    return this.wrap(p, inner);
  }
  /** Like op(), but closes a handle that was opened just as the crash happened. */
  private async open(f: () => Promise<WalFile>): Promise<WalFile> {
    if (this.crashed) throw new SimulatedCrash();
    this.inFlight++;
    let file: WalFile;
    try {
      file = await f();
    } finally {
      this.inFlight--;
    }
    if (this.crashed) {
      await file.close();
      throw new SimulatedCrash();
    }
    return file;
  }
  async openExisting(p: string) {
    const inner = await this.open(() => nodeWalIo.openExisting(p));
    const size = (await fs.stat(p)).size;
    this.files.set(p, { durable: size, written: size });
    return this.wrap(p, inner);
  }
  rename(from: string, to: string) {
    return this.op(async () => {
      await nodeWalIo.rename(from, to);
      const t = this.files.get(from);
      this.files.delete(from);
      if (t) this.files.set(to, t);
    });
  }
  unlink(p: string) {
    return this.op(async () => {
      await nodeWalIo.unlink(p);
      this.files.delete(p);
    });
  }
  rmdir(p: string) {
    return this.op(() => nodeWalIo.rmdir(p));
  }
  fsyncDir(p: string) {
    return this.op(() => nodeWalIo.fsyncDir(p));
  }

  /**
   * Crashes: all further operations fail; once in-flight ones settle, every file is cut to a random
   * length between what was durable and what was written. Files created or renamed are kept.
   */
  async crash(prng: Prng): Promise<void> {
    this.crashed = true;
    while (this.inFlight > 0) await new Promise((r) => setTimeout(r, 1));
    for (const [p, t] of this.files) {
      let size: number;
      try {
        size = (await fs.stat(p)).size;
      } catch {
        continue;
      }
      if (size > t.durable) await fs.truncate(p, prng.int(t.durable, size));
    }
  }
}
