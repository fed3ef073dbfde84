// CI sweep, shard 3: see ci-sweep.ts.
import { describe } from 'vitest';
import { CI_SHARDS, sweepShard } from './ci-sweep.ts';

describe(`deterministic simulation, shard 3 of ${CI_SHARDS}`, () => sweepShard(3));
