import { z } from 'zod';
import { frameHeaderBytes } from './format.ts';

// All WAL limits, with their defaults, in one place. Every one of them is enforced somewhere.

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

const bytes = (min: number, max: number, byDefault: number) => z.number().int().min(min).max(max).default(byDefault);

export const walOptionsSchema = z
  .object({
    /** A segment rolls when the next update would take it past this size (a segment may exceed it by one update). */
    segmentBytesMax: bytes(1 * KiB, 4 * GiB, 64 * MiB),
    /** Largest record (frame payload). Bounds one entry's data: a larger entry is refused. */
    recordBytesMax: bytes(1 * KiB, 1 * GiB, 16 * MiB),
    /**
     * Largest write between two fsyncs. A crash can tear at most this many bytes at the end of the
     * last segment, which recovery uses to tell a torn tail from corruption.
     */
    batchBytesMax: bytes(2 * KiB, 2 * GiB - 1, 32 * MiB),
    /** Bytes appended but not yet handed to sync(); append() refuses beyond this. */
    pendingBytesMax: bytes(2 * KiB, 4 * GiB, 256 * MiB),
    /**
     * Bytes of live entries (those after each group's snapshot, counted as data + 24 bytes each)
     * kept in memory across all groups; append() refuses beyond this. Snapshots release entries.
     */
    liveEntriesBytesMax: bytes(1 * KiB, 64 * GiB, 1 * GiB),
    /** Raft groups on this node. */
    groupsCountMax: z.number().int().min(1).max(10_000_000).default(100_000),
    /** Data bytes of one snapshot file. */
    snapshotBytesMax: bytes(0, 16 * GiB, 1 * GiB),
    /** An old segment is considered for rewrite once it is this many segments behind the head. */
    rewriteLagSegmentsMin: z.number().int().min(1).max(1_000_000).default(2),
    /** Rewrite only when at most this many groups hold the oldest segment... */
    rewriteGroupsMax: z.number().int().min(0).max(1_000_000).default(64),
    /** ...and their live entries total at most this many bytes. */
    rewriteBytesMax: bytes(0, 4 * GiB, 8 * MiB),
    /**
     * Zeros written ahead of the head segment's end (0: off). Overwriting allocated space, an
     * fdatasync need not update the file size: measured 2-4× faster on ext4 here. The segment is
     * cut back to its records when it rolls or the WAL closes; after a crash, recovery treats the
     * zeros as never-written space.
     */
    preallocateBytes: bytes(0, 1 * GiB, 0),
    /**
     * Fraction of preallocateBytes added to the first zero-fill of each segment. The replicas of
     * a group write nearly the same bytes, so with equal phases they all stop for a zero-fill (a
     * large write and fdatasync) at the same moment and no quorum can commit meanwhile; different
     * phases (e.g. from the node id) keep those stops apart.
     */
    preallocatePhase: z.number().min(0).max(1).default(0),
    /** CPU budget (bytes checksummed) for deciding whether a damaged last-segment tail is torn. */
    tornTailScanBytesMax: bytes(0, 64 * GiB, 1 * GiB),
  })
  .strict()
  .refine((o) => o.recordBytesMax + frameHeaderBytes <= o.batchBytesMax, {
    message: 'batchBytesMax must be at least recordBytesMax + 9 (one whole record per write)',
  })
  .refine((o) => o.batchBytesMax <= o.pendingBytesMax, { message: 'pendingBytesMax must be at least batchBytesMax' });

export type WalOptionsInput = z.input<typeof walOptionsSchema>;
export type WalOptions = z.output<typeof walOptionsSchema>;

export function parseWalOptions(input: WalOptionsInput = {}): WalOptions {
  const parsed = walOptionsSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`).join('; ');
    throw new RangeError(`invalid WAL options: ${issues}`);
  }
  return parsed.data;
}
