// CI sweep, shard 4: see ci-sweep.ts.
import { describe } from 'vitest';
import { CI_SHARDS, sweepShard } from './ci-sweep.ts';

describe(`deterministic simulation, shard 4 of ${CI_SHARDS}`, () => sweepShard(4));
