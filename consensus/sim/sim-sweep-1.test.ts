// CI sweep, shard 1: see ci-sweep.ts.
import { describe } from 'vitest';
import { CI_SHARDS, sweepShard } from './ci-sweep.ts';

describe(`deterministic simulation, shard 1 of ${CI_SHARDS}`, () => sweepShard(1));
