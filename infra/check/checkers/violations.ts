// Collects a checker's violations, keeping the first few of each kind (a broken run can produce
// thousands of the same) while counting them all.
import type { Violation } from '../workload.ts';

export const VIOLATIONS_PER_KIND_MAX = 10;

export class ViolationList {
  readonly items: Violation[] = [];
  private readonly perKind = new Map<string, number>();

  add(kind: string, message: string, details?: unknown): void {
    const n = this.perKind.get(kind) ?? 0;
    this.perKind.set(kind, n + 1);
    if (n < VIOLATIONS_PER_KIND_MAX) this.items.push({ kind, message, ...(details !== undefined ? { details } : {}) });
  }

  /** Every violation found per kind, including those not kept. */
  counts(): Record<string, number> {
    return Object.fromEntries(this.perKind);
  }
}
