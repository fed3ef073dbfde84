#!/usr/bin/env node
// The nimmer CLI. Sources are TypeScript, loaded through tsx (a runtime dependency).
import { register } from 'tsx/esm/api';

register();
await import('../infra/cli/main.ts');
