// The file operations the WAL performs, behind an interface so tests can inject faults and
// simulate crashes. The default implementation is node:fs/promises with real fsync.

import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';

export interface WalFile {
  /** Writes all of `bytes` at `position`. */
  write(bytes: Uint8Array, position: number): Promise<void>;
  /**
   * Writes all of `bytes` at `position` and makes them durable, as write + fdatasync of that range
   * would, in one call (an O_DSYNC write: one trip through libuv's thread pool instead of two, so a
   * busy event loop delays the batch once, not twice). Earlier plain writes elsewhere in the file
   * are not covered.
   */
  writeDurable(bytes: Uint8Array, position: number): Promise<void>;
  /** fdatasync: the written data (and the size) are durable when this resolves. */
  datasync(): Promise<void>;
  truncate(bytes: number): Promise<void>;
  close(): Promise<void>;
}

export interface WalIo {
  /** Creates the directory and its parents; no error when it exists. */
  mkdir(path: string): Promise<void>;
  /** File names in a directory; [] when it does not exist. */
  readdir(path: string): Promise<string[]>;
  readFile(path: string): Promise<Uint8Array>;
  /** Opens for writing: `exclusive` fails when the file exists, otherwise it is created or truncated. */
  create(path: string, exclusive: boolean): Promise<WalFile>;
  /** Opens an existing file for writing without truncating it. */
  openExisting(path: string): Promise<WalFile>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Removes an empty directory; false when it is missing or not empty. */
  rmdir(path: string): Promise<boolean>;
  /** fsync of a directory, making creations, renames and deletions in it durable. */
  fsyncDir(path: string): Promise<void>;
}

async function writeAll(handle: fs.FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.byteLength - done, position + done);
    if (bytesWritten <= 0) throw new Error(`write made no progress at position ${position + done}`);
    done += bytesWritten;
  }
}

class NodeWalFile implements WalFile {
  /** A second descriptor of the same file opened with O_DSYNC, for writeDurable(); opened on first use. */
  private dsyncHandle: fs.FileHandle | undefined;

  constructor(
    private readonly handle: fs.FileHandle,
    private readonly path: string,
  ) {}

  write(bytes: Uint8Array, position: number): Promise<void> {
    return writeAll(this.handle, bytes, position);
  }

  async writeDurable(bytes: Uint8Array, position: number): Promise<void> {
    this.dsyncHandle ??= await fs.open(this.path, fsConstants.O_WRONLY | fsConstants.O_DSYNC);
    await writeAll(this.dsyncHandle, bytes, position);
  }

  datasync(): Promise<void> {
    return this.handle.datasync();
  }

  truncate(bytes: number): Promise<void> {
    return this.handle.truncate(bytes);
  }

  async close(): Promise<void> {
    const dsync = this.dsyncHandle;
    this.dsyncHandle = undefined;
    try {
      await dsync?.close();
    } finally {
      await this.handle.close();
    }
  }
}

function isCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

export const nodeWalIo: WalIo = {
  async mkdir(path) {
    await fs.mkdir(path, { recursive: true });
  },
  async readdir(path) {
    try {
      return await fs.readdir(path);
    } catch (err) {
      if (isCode(err, 'ENOENT')) return [];
      throw err;
    }
  },
  async readFile(path) {
    const b = await fs.readFile(path);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  },
  async create(path, exclusive) {
    const flags = fsConstants.O_WRONLY | fsConstants.O_CREAT | (exclusive ? fsConstants.O_EXCL : fsConstants.O_TRUNC);
    return new NodeWalFile(await fs.open(path, flags, 0o644), path);
  },
  async openExisting(path) {
    return new NodeWalFile(await fs.open(path, 'r+'), path);
  },
  rename(from, to) {
    return fs.rename(from, to);
  },
  unlink(path) {
    return fs.unlink(path);
  },
  async rmdir(path) {
    try {
      await fs.rmdir(path);
      return true;
    } catch (err) {
      if (isCode(err, 'ENOENT') || isCode(err, 'ENOTEMPTY') || isCode(err, 'EEXIST')) return false;
      throw err;
    }
  },
  async fsyncDir(path) {
    const handle = await fs.open(path, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
};
