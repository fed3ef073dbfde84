// The replica's document on disk: one append-only file per epoch (`epoch-<n>.am`) holding
// length- and checksum-framed chunks — a full save, then incremental saves. A torn tail (a crash
// mid-append) is cut off at load. A new epoch is written whole, then the older files are removed.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { crc32c } from '../codec/index.ts';

const FRAME_HEADER_BYTES = 8;
const CHUNK_BYTES_MAX = 512 * 1024 * 1024;
const FILE_PATTERN = /^epoch-([1-9][0-9]*)\.am$/;

function frame(bytes: Uint8Array): Buffer {
  if (bytes.length > CHUNK_BYTES_MAX) throw new Error(`invariant: a document chunk of ${bytes.length} bytes exceeds ${CHUNK_BYTES_MAX}`);
  const out = Buffer.alloc(FRAME_HEADER_BYTES + bytes.length);
  out.writeUInt32BE(bytes.length, 0);
  out.writeUInt32BE(crc32c(bytes), 4);
  out.set(bytes, FRAME_HEADER_BYTES);
  return out;
}

function unframe(data: Buffer): { chunks: Uint8Array[]; validBytes: number } {
  const chunks: Uint8Array[] = [];
  let at = 0;
  while (at + FRAME_HEADER_BYTES <= data.length) {
    const len = data.readUInt32BE(at);
    const crc = data.readUInt32BE(at + 4);
    if (len > CHUNK_BYTES_MAX || at + FRAME_HEADER_BYTES + len > data.length) break;
    const chunk = data.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + len);
    if (crc32c(chunk) !== crc) break;
    chunks.push(chunk);
    at += FRAME_HEADER_BYTES + len;
  }
  return { chunks, validBytes: at };
}

export class DocStore {
  private file: FileHandle | undefined;
  /** Bytes of the current epoch's file. */
  bytes = 0;
  epoch = 0;

  private constructor(readonly dir: string) {}

  /** Opens the directory; returns the newest epoch's chunks (empty when there is none). */
  static async open(dir: string): Promise<{ store: DocStore; epoch: number; chunks: Uint8Array[] }> {
    await mkdir(dir, { recursive: true });
    const store = new DocStore(dir);
    const epochs = (await readdir(dir)).map((f) => FILE_PATTERN.exec(f)).filter((m) => m !== null).map((m) => Number(m[1])).sort((a, b) => b - a);
    for (const epoch of epochs) {
      const file = path.join(dir, `epoch-${epoch}.am`);
      const { chunks, validBytes } = unframe(await readFile(file));
      if (chunks.length === 0) continue; // an epoch file whose first write was torn: the previous one is whole
      store.file = await open(file, 'r+');
      await store.file.truncate(validBytes);
      store.file = await reopenForAppend(store.file, file);
      store.bytes = validBytes;
      store.epoch = epoch;
      return { store, epoch, chunks };
    }
    return { store, epoch: 0, chunks: [] };
  }

  /**
   * The writer id of this directory's counter totals: `<peer>.<random>`, created once with the
   * directory. Totals are per-writer maxima; a node that lost its directory and started again
   * under the old id would write totals lower than its peers' copies, and the max would swallow
   * its new increments. A new directory is a new writer.
   */
  async writerIdentity(peer: string): Promise<string> {
    const file = path.join(this.dir, 'writer');
    try {
      const id = (await readFile(file, 'utf8')).trim();
      if (id.startsWith(`${peer}.`) && /^[A-Za-z0-9_.-]{1,80}$/.test(id)) return id;
    } catch {
      /* absent: a new directory */
    }
    const id = `${peer}.${randomBytes(4).toString('hex')}`;
    await writeFile(`${file}.tmp`, id);
    const h = await open(`${file}.tmp`, 'r');
    await h.sync();
    await h.close();
    await rename(`${file}.tmp`, file);
    return id;
  }

  async append(bytes: Uint8Array, fsync: boolean): Promise<void> {
    if (!this.file) throw new Error('invariant: append before the first epoch was written');
    const f = frame(bytes);
    await this.file.write(f);
    this.bytes += f.length;
    if (fsync) await this.file.datasync();
  }

  /** Writes `epoch`'s file whole (temp file, fsync, rename), then removes every older epoch file. */
  async startEpoch(epoch: number, fullSave: Uint8Array): Promise<void> {
    if (!(epoch > this.epoch)) throw new Error(`invariant: epochs only move forward (${this.epoch} → ${epoch})`);
    const file = path.join(this.dir, `epoch-${epoch}.am`);
    const tmp = `${file}.tmp`;
    const h = await open(tmp, 'w');
    const f = frame(fullSave);
    await h.write(f);
    await h.datasync();
    await h.close();
    await rename(tmp, file);
    const dirHandle = await open(this.dir, 'r');
    await dirHandle.sync().catch(() => undefined);
    await dirHandle.close();
    await this.file?.close();
    this.file = await open(file, 'a');
    this.bytes = f.length;
    this.epoch = epoch;
    for (const name of await readdir(this.dir)) {
      const m = FILE_PATTERN.exec(name);
      if (m && Number(m[1]) < epoch) await rm(path.join(this.dir, name), { force: true });
    }
  }

  async close(): Promise<void> {
    await this.file?.close();
    this.file = undefined;
  }
}

async function reopenForAppend(h: FileHandle, file: string): Promise<FileHandle> {
  await h.close();
  return open(file, 'a');
}
