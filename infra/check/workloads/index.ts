// The workloads by name.
import { CheckConfigError, type WorkloadName } from '../options.ts';
import type { Workload } from '../workload.ts';
import { BankWorkload } from './bank.ts';
import { CrdtWorkload } from './crdt.ts';
import { RegisterWorkload } from './register.ts';

export function createWorkload(name: WorkloadName, clock: { now(): number }): Workload {
  switch (name) {
    case 'register':
      return new RegisterWorkload(clock);
    case 'bank':
      return new BankWorkload();
    case 'crdt':
      return new CrdtWorkload();
    case 'pipeline':
      throw new CheckConfigError(
        "the 'pipeline' workload is not available yet: it needs the event pipeline (directors, compositors, the transactional publish " +
          'and the player clients) end to end; use --workload register, bank or crdt',
      );
  }
}
