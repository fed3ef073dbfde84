// CI sweep, shard 2: see ci-sweep.ts.
import { describe } from 'vitest';
import { CI_SHARDS, sweepShard } from './ci-sweep.ts';

describe(`deterministic simulation, shard 2 of ${CI_SHARDS}`, () => sweepShard(2));
