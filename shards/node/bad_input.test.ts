// Bad input on every route of the node process (API.md: "Every route validates its input with zod
// and answers bad input with a 4xx JSON error — never a 500, never a crash"): each case through
// every node answers the expected 4xx in the error shape {"error":{"code","message"}}, nothing is
// applied (axes, events, shard map and catalogue unchanged), and every process is still up.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { describeOutcome, expectStatus, request, startClusterWithShards, waitHealthy } from './testing/client.ts';
import type { LocalCluster } from './testing/local_cluster.ts';

const NODES = [1, 2, 3];
const S = 's-northmarch';
const OTHER = 's-saltcoast';
const GOOD_KEY = { geography: 'northmarch', theme: 'political', tier: 'everyday', faction: 'crown' };
const GOOD_EVENT = { key: GOOD_KEY, template: 'border_skirmish', district: 'ironford', participants: ['p-1', 'p-2'] };
const JSON_CT = { 'content-type': 'application/json' };

interface Case {
  name: string;
  method: string;
  path: string;
  /** An object is sent as JSON; a string is sent as is (with Content-Type: application/json unless headers say otherwise). */
  body?: unknown;
  headers?: Record<string, string>;
  status: number;
  code?: string;
  /** For UID errors: the UID error code in details.code. */
  uidCode?: string;
}

const big = 'x'.repeat(70 * 1024);

/** Cases for a write route that takes a JSON body. */
function bodyCases(method: string, path: string, good: Record<string, unknown>, route: string): Case[] {
  const [field] = Object.keys(good);
  return [
    { name: `${route}: invalid JSON`, method, path, body: '{"value": ', status: 400, code: 'invalid_json' },
    { name: `${route}: not JSON at all`, method, path, body: 'value=1', status: 400, code: 'invalid_json' },
    { name: `${route}: empty body`, method, path, body: '', status: 400, code: 'invalid_json' },
    { name: `${route}: JSON null`, method, path, body: 'null', status: 400 },
    { name: `${route}: JSON array`, method, path, body: [good], status: 400, code: 'bad_request' },
    { name: `${route}: a string where a number goes`, method, path, body: { ...good, [field!]: '5' }, status: 400, code: 'bad_request' },
    { name: `${route}: a boolean where a number goes`, method, path, body: { ...good, [field!]: true }, status: 400, code: 'bad_request' },
    { name: `${route}: missing field`, method, path, body: {}, status: 400, code: 'bad_request' },
    { name: `${route}: extra field`, method, path, body: { ...good, extra: 1 }, status: 400, code: 'bad_request' },
    { name: `${route}: +Infinity (1e999)`, method, path, body: JSON.stringify(good).replace(/:\s*-?[0-9.]+/, ':1e999'), status: 400, code: 'bad_request' },
    { name: `${route}: -Infinity (-1e999)`, method, path, body: JSON.stringify(good).replace(/:\s*-?[0-9.]+/, ':-1e999'), status: 400, code: 'bad_request' },
    { name: `${route}: NaN literal`, method, path, body: JSON.stringify(good).replace(/:\s*-?[0-9.]+/, ':NaN'), status: 400, code: 'invalid_json' },
    { name: `${route}: oversized body`, method, path, body: { ...good, pad: big }, status: 413, code: 'payload_too_large' },
    // fastify parses text/plain as a string, which no route accepts.
    { name: `${route}: text/plain`, method, path, body: JSON.stringify(good), headers: { 'content-type': 'text/plain' }, status: 400, code: 'bad_request' },
    { name: `${route}: an unknown content type`, method, path, body: JSON.stringify(good), headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, code: 'unsupported_media_type' },
    { name: `${route}: Idempotency-Key with a space`, method, path, body: good, headers: { 'idempotency-key': 'two words' }, status: 400, code: 'bad_request' },
    { name: `${route}: Idempotency-Key too long`, method, path, body: good, headers: { 'idempotency-key': 'k'.repeat(101) }, status: 400, code: 'bad_request' },
    { name: `${route}: Idempotency-Key with a slash`, method, path, body: good, headers: { 'idempotency-key': 'a/b' }, status: 400, code: 'bad_request' },
  ];
}

function axisPathCases(method: string, suffix: string, body: unknown, route: string): Case[] {
  return [
    { name: `${route}: unknown shard`, method, path: `/shards/s-atlantis/axes/order${suffix}`, body, status: 404, code: 'not_found' },
    { name: `${route}: unknown axis`, method, path: `/shards/${S}/axes/nosuchaxis${suffix}`, body, status: 404, code: 'not_found' },
    { name: `${route}: malformed shard id`, method, path: `/shards/S!x/axes/order${suffix}`, body, status: 400, code: 'bad_request' },
    { name: `${route}: malformed axis id`, method, path: `/shards/${S}/axes/Order-1${suffix}`, body, status: 400, code: 'bad_request' },
    { name: `${route}: overlong axis id`, method, path: `/shards/${S}/axes/${'a'.repeat(200)}${suffix}`, body, status: 400, code: 'bad_request' },
  ];
}

function consistencyCases(path: string, route: string): Case[] {
  return [
    { name: `${route}: unknown consistency`, method: 'GET', path: `${path}?consistency=eventual`, status: 400, code: 'bad_request' },
    { name: `${route}: empty consistency`, method: 'GET', path: `${path}?consistency=`, status: 400, code: 'bad_request' },
    { name: `${route}: consistency twice`, method: 'GET', path: `${path}?consistency=stale&consistency=stale`, status: 400, code: 'bad_request' },
    { name: `${route}: unknown query parameter`, method: 'GET', path: `${path}?consistncy=stale`, status: 400, code: 'bad_request' },
  ];
}

const eventWith = (patch: Record<string, unknown>) => ({ ...GOOD_EVENT, ...patch });
const keyWith = (patch: Record<string, unknown>) => eventWith({ key: { ...GOOD_KEY, ...patch } });

const UID_CASES: Array<[string, string, string]> = [
  // [name, raw path segment, UID error code]
  ['a space', 'ev%20x', 'whitespace'],
  ['a * wildcard', 'ev*x', 'wildcard'],
  ['a > wildcard', 'ev%3Ex', 'wildcard'],
  ['non-ASCII', 'ev-%C3%A9', 'non_ascii'],
  ['an empty token', 'ev-a..north', 'empty_token'],
  ['a leading dot', '.ev-a', 'empty_token'],
  ['a trailing dot', 'ev-a.', 'empty_token'],
  ['five levels', 'a.b.c.d.e', 'too_many_levels'],
  ['a 65-character token', 'e'.repeat(65), 'token_too_long'],
  ['300 characters', `${'e'.repeat(64)}.${'d'.repeat(64)}.${'s'.repeat(64)}.${'x'.repeat(64)}.${'y'.repeat(40)}`, 'too_many_levels'],
  ['a colon', 'ev:1', 'invalid_char'],
  ['a tab', 'ev%09x', 'whitespace'],
];

const CASES: Case[] = [
  // --- GET /shards, equilibrium, axes ---
  ...consistencyCases('/shards', 'GET /shards'),
  ...consistencyCases(`/shards/${S}/equilibrium`, 'GET equilibrium'),
  ...consistencyCases(`/shards/${S}/axes/order`, 'GET axis'),
  { name: 'GET equilibrium: unknown shard', method: 'GET', path: '/shards/s-atlantis/equilibrium', status: 404, code: 'not_found' },
  { name: 'GET equilibrium: malformed shard id', method: 'GET', path: '/shards/..%2F..%2Fetc/equilibrium', status: 400, code: 'bad_request' },
  ...axisPathCases('GET', '', undefined, 'GET axis'),

  // --- PUT axis, PUT target, CAS ---
  ...bodyCases('PUT', `/shards/${S}/axes/order`, { value: 50 }, 'PUT axis'),
  ...axisPathCases('PUT', '', { value: 50 }, 'PUT axis'),
  { name: 'PUT axis: value above the axis range', method: 'PUT', path: `/shards/${S}/axes/order`, body: { value: 101 }, status: 400, code: 'bad_request' },
  { name: 'PUT axis: value below the axis range', method: 'PUT', path: `/shards/${S}/axes/order`, body: { value: -1 }, status: 400, code: 'bad_request' },
  { name: 'PUT axis: huge finite value', method: 'PUT', path: `/shards/${S}/axes/order`, body: { value: 1e308 }, status: 400, code: 'bad_request' },
  ...bodyCases('PUT', `/shards/${S}/axes/order/target`, { target: 50 }, 'PUT target'),
  ...axisPathCases('PUT', '/target', { target: 50 }, 'PUT target'),
  ...bodyCases('POST', `/shards/${S}/axes/order/cas`, { expect: 50, value: 51 }, 'CAS'),
  ...axisPathCases('POST', '/cas', { expect: 50, value: 51 }, 'CAS'),
  { name: 'CAS: value missing', method: 'POST', path: `/shards/${S}/axes/order/cas`, body: { expect: 50 }, status: 400, code: 'bad_request' },
  { name: 'CAS: value out of range', method: 'POST', path: `/shards/${S}/axes/order/cas`, body: { expect: 60, value: 1000 }, status: 400, code: 'bad_request' },

  // --- POST /events ---
  ...bodyCases('POST', '/events', GOOD_EVENT, 'POST /events').filter((c) => !c.name.includes('where a number goes') && !c.name.includes('finity') && !c.name.includes('NaN')),
  { name: 'POST /events: key missing', method: 'POST', path: '/events', body: { ...GOOD_EVENT, key: undefined }, status: 400, code: 'bad_request' },
  { name: 'POST /events: key is a string', method: 'POST', path: '/events', body: eventWith({ key: 'northmarch.political' }), status: 400, code: 'bad_request' },
  { name: 'POST /events: key missing a field', method: 'POST', path: '/events', body: eventWith({ key: { geography: 'northmarch', theme: 'political', tier: 'everyday' } }), status: 400, code: 'bad_request' },
  { name: 'POST /events: key with an extra field', method: 'POST', path: '/events', body: keyWith({ region: 'x' }), status: 400, code: 'bad_request' },
  { name: 'POST /events: key with a wildcard', method: 'POST', path: '/events', body: keyWith({ faction: '*' }), status: 400, code: 'bad_request' },
  { name: 'POST /events: key with a NATS wildcard', method: 'POST', path: '/events', body: keyWith({ geography: 'north>' }), status: 400, code: 'bad_request' },
  { name: 'POST /events: key with a dot', method: 'POST', path: '/events', body: keyWith({ geography: 'north.march' }), status: 400, code: 'bad_request' },
  { name: 'POST /events: key with a space', method: 'POST', path: '/events', body: keyWith({ faction: 'the crown' }), status: 400, code: 'bad_request' },
  { name: 'POST /events: key with an unknown theme', method: 'POST', path: '/events', body: keyWith({ theme: 'romantic' }), status: 400, code: 'bad_request' },
  { name: 'POST /events: key with an unknown tier', method: 'POST', path: '/events', body: keyWith({ tier: 'epic' }), status: 400, code: 'bad_request' },
  { name: 'POST /events: key field a number', method: 'POST', path: '/events', body: keyWith({ geography: 7 }), status: 400, code: 'bad_request' },
  { name: 'POST /events: key no shard owns', method: 'POST', path: '/events', body: keyWith({ geography: 'atlantis' }), status: 404, code: 'not_found' },
  { name: 'POST /events: unknown template', method: 'POST', path: '/events', body: eventWith({ template: 'dragon_wedding' }), status: 400, code: 'bad_request' },
  { name: 'POST /events: malformed template id', method: 'POST', path: '/events', body: eventWith({ template: 'Border Skirmish' }), status: 400, code: 'bad_request' },
  { name: 'POST /events: template for another theme', method: 'POST', path: '/events', body: keyWith({ theme: 'economic' }), status: 409, code: 'conflict' },
  { name: 'POST /events: template for another geography', method: 'POST', path: '/events', body: eventWith({ template: 'council_election', key: { ...GOOD_KEY, faction: 'temple' } }), status: 409, code: 'conflict' },
  { name: 'POST /events: too few participants', method: 'POST', path: '/events', body: eventWith({ participants: ['p-1'] }), status: 400, code: 'bad_request' },
  { name: 'POST /events: too many participants', method: 'POST', path: '/events', body: eventWith({ participants: Array.from({ length: 41 }, (_, i) => `p-${i}`) }), status: 400, code: 'bad_request' },
  { name: 'POST /events: participants not an array', method: 'POST', path: '/events', body: eventWith({ participants: 'p-1,p-2' }), status: 400, code: 'bad_request' },
  { name: 'POST /events: malformed participant id', method: 'POST', path: '/events', body: eventWith({ participants: ['p-1', 'p 2'] }), status: 400, code: 'bad_request' },
  { name: 'POST /events: malformed district', method: 'POST', path: '/events', body: eventWith({ district: 'iron.ford' }), status: 400, code: 'bad_request' },
  { name: 'POST /events: empty district', method: 'POST', path: '/events', body: eventWith({ district: '' }), status: 400, code: 'bad_request' },

  // --- GET /events/:uid, POST /events/:uid/outcome ---
  ...UID_CASES.map(([name, seg, uidCode]): Case => ({ name: `GET /events/:uid: ${name}`, method: 'GET', path: `/events/${seg}`, status: 400, code: 'bad_request', uidCode })),
  { name: 'GET /events/:uid: malformed percent-encoding', method: 'GET', path: '/events/ev-%E0%A4%A', status: 400, code: 'bad_request' },
  { name: 'GET /events/:uid: unknown consistency', method: 'GET', path: '/events/ev-abc?consistency=eventual', status: 400, code: 'bad_request' },
  { name: 'GET /events/:uid: unknown event', method: 'GET', path: '/events/ev-never-issued', status: 404, code: 'not_found' },
  ...UID_CASES.slice(0, 4).map(([name, seg, uidCode]): Case => ({ name: `POST outcome: uid with ${name}`, method: 'POST', path: `/events/${seg}/outcome`, body: { outcome: 'success' }, status: 400, code: 'bad_request', uidCode })),
  { name: 'POST outcome: unknown outcome', method: 'POST', path: '/events/ev-abc/outcome', body: { outcome: 'triumph' }, status: 400, code: 'bad_request' },
  { name: 'POST outcome: missing outcome', method: 'POST', path: '/events/ev-abc/outcome', body: {}, status: 400, code: 'bad_request' },
  { name: 'POST outcome: extra field', method: 'POST', path: '/events/ev-abc/outcome', body: { outcome: 'success', by: 'me' }, status: 400, code: 'bad_request' },
  { name: 'POST outcome: invalid JSON', method: 'POST', path: '/events/ev-abc/outcome', body: '{', status: 400, code: 'invalid_json' },
  { name: 'POST outcome: unknown event', method: 'POST', path: '/events/ev-never-issued/outcome', body: { outcome: 'success' }, status: 404, code: 'not_found' },

  // --- admin ---
  ...bodyCases('POST', '/admin/shards', { key: { geography: 'farshore', theme: '*', tier: '*', faction: '*' }, replicas: ['n1'] }, 'POST /admin/shards').filter((c) => !c.name.includes('where a number goes') && !c.name.includes('finity') && !c.name.includes('NaN')),
  { name: 'POST /admin/shards: key with an unknown theme', method: 'POST', path: '/admin/shards', body: { key: { geography: 'farshore', theme: 'x', tier: '*', faction: '*' }, replicas: ['n1'] }, status: 400, code: 'bad_request' },
  { name: 'POST /admin/shards: no replicas', method: 'POST', path: '/admin/shards', body: { key: { geography: 'farshore', theme: '*', tier: '*', faction: '*' }, replicas: [] }, status: 400, code: 'bad_request' },
  { name: 'POST /admin/shards: malformed replica', method: 'POST', path: '/admin/shards', body: { key: { geography: 'farshore', theme: '*', tier: '*', faction: '*' }, replicas: ['node-1'] }, status: 400, code: 'bad_request' },
  { name: 'POST /admin/shards: repeated replica', method: 'POST', path: '/admin/shards', body: { key: { geography: 'farshore', theme: '*', tier: '*', faction: '*' }, replicas: ['n1', 1] }, status: 400, code: 'bad_request' },
  { name: 'POST /admin/shards: replica a float', method: 'POST', path: '/admin/shards', body: { key: { geography: 'farshore', theme: '*', tier: '*', faction: '*' }, replicas: [1.5] }, status: 400, code: 'bad_request' },
  { name: 'POST /admin/shards: unregistered node', method: 'POST', path: '/admin/shards', body: { key: { geography: 'farshore', theme: '*', tier: '*', faction: '*' }, replicas: ['n1', 'n9'] }, status: 404, code: 'not_found' },
  { name: 'POST /admin/shards: key already owned', method: 'POST', path: '/admin/shards', body: { key: { geography: 'northmarch', theme: '*', tier: '*', faction: '*' }, replicas: ['n1'] }, status: 409, code: 'conflict' },
  { name: 'POST /admin/shards: id taken', method: 'POST', path: '/admin/shards', body: { key: { geography: 'farshore', theme: '*', tier: '*', faction: '*' }, replicas: ['n1'], id: S }, status: 409, code: 'conflict' },
  { name: 'POST /admin/shards: malformed id', method: 'POST', path: '/admin/shards', body: { key: { geography: 'farshore', theme: '*', tier: '*', faction: '*' }, replicas: ['n1'], id: 'Far Shore' }, status: 400, code: 'bad_request' },
  { name: 'split: unknown shard', method: 'POST', path: '/admin/shards/s-atlantis/split', body: { key: { ...GOOD_KEY, geography: 'atlantis' } }, status: 404, code: 'not_found' },
  { name: 'split: malformed shard id', method: 'POST', path: '/admin/shards/Nope!/split', body: { key: GOOD_KEY }, status: 400, code: 'bad_request' },
  { name: 'split: child key outside the parent', method: 'POST', path: `/admin/shards/${S}/split`, body: { key: { geography: 'saltcoast', theme: 'political', tier: '*', faction: '*' } }, status: 400, code: 'bad_request' },
  { name: 'split: child key equal to the parent', method: 'POST', path: `/admin/shards/${S}/split`, body: { key: { geography: 'northmarch', theme: '*', tier: '*', faction: '*' } }, status: 400, code: 'bad_request' },
  { name: 'split: child id taken', method: 'POST', path: `/admin/shards/${S}/split`, body: { key: { ...GOOD_KEY, theme: 'economic' }, id: OTHER }, status: 409, code: 'conflict' },
  { name: 'split: missing key', method: 'POST', path: `/admin/shards/${S}/split`, body: {}, status: 400, code: 'bad_request' },
  { name: 'split: extra field', method: 'POST', path: `/admin/shards/${S}/split`, body: { key: GOOD_KEY, replicas: ['n1'], x: 1 }, status: 400, code: 'bad_request' },
  { name: 'split: invalid JSON', method: 'POST', path: `/admin/shards/${S}/split`, body: '{"key"', status: 400, code: 'invalid_json' },
  { name: 'move: unknown shard', method: 'POST', path: '/admin/shards/s-atlantis/move', body: { replicas: ['n1'] }, status: 404, code: 'not_found' },
  { name: 'move: to the replicas it has', method: 'POST', path: `/admin/shards/${S}/move`, body: { replicas: ['n3', 'n2', 'n1'] }, status: 400, code: 'bad_request' },
  { name: 'move: to an unregistered node', method: 'POST', path: `/admin/shards/${S}/move`, body: { replicas: ['n1', 'n2', 'n7'] }, status: 404, code: 'not_found' },
  { name: 'move: no replicas', method: 'POST', path: `/admin/shards/${S}/move`, body: { replicas: [] }, status: 400, code: 'bad_request' },
  { name: 'move: replicas not an array', method: 'POST', path: `/admin/shards/${S}/move`, body: { replicas: 'n1,n2' }, status: 400, code: 'bad_request' },
  { name: 'move: too many replicas', method: 'POST', path: `/admin/shards/${S}/move`, body: { replicas: Array.from({ length: 10 }, (_, i) => `n${i + 1}`) }, status: 400, code: 'bad_request' },
  { name: 'move: Idempotency-Key with a space', method: 'POST', path: `/admin/shards/${S}/move`, body: { replicas: ['n1'] }, headers: { 'idempotency-key': 'a b' }, status: 400, code: 'bad_request' },
  { name: 'PUT /admin/catalogue: not a catalogue', method: 'PUT', path: '/admin/catalogue', body: { catalogue: { version: 2 } }, status: 400, code: 'bad_request' },
  { name: 'PUT /admin/catalogue: catalogue missing', method: 'PUT', path: '/admin/catalogue', body: {}, status: 400, code: 'bad_request' },
  { name: 'PUT /admin/catalogue: catalogue a string', method: 'PUT', path: '/admin/catalogue', body: { catalogue: 'v2' }, status: 400, code: 'bad_request' },
  { name: 'PUT /admin/catalogue: extra field', method: 'PUT', path: '/admin/catalogue', body: { catalogue: {}, force: true }, status: 400, code: 'bad_request' },
  { name: 'PUT /admin/catalogue: invalid JSON', method: 'PUT', path: '/admin/catalogue', body: '{"catalogue":', status: 400, code: 'invalid_json' },
  { name: 'PUT /admin/catalogue: oversized', method: 'PUT', path: '/admin/catalogue', body: { catalogue: { pad: big } }, status: 413, code: 'payload_too_large' },

  // --- unknown routes and methods ---
  { name: 'unknown route', method: 'GET', path: '/nope', status: 404, code: 'not_found' },
  { name: 'unknown nested route', method: 'GET', path: `/shards/${S}/axes/order/history`, status: 404, code: 'not_found' },
  { name: 'unknown method on a route', method: 'DELETE', path: `/shards/${S}/axes/order`, status: 404, code: 'not_found' },
  { name: 'POST to a read route', method: 'POST', path: '/health', body: {}, status: 404, code: 'not_found' },
  { name: 'unknown admin route', method: 'POST', path: '/admin/shards/s-northmarch/merge', body: {}, status: 404, code: 'not_found' },
];

describe('bad input on every route', () => {
  let c: LocalCluster;
  const url = (id: number) => c.url(id);

  async function observable() {
    const shards = [];
    for (const s of [S, OTHER]) {
      const eq = await expectStatus(`${url(1)}/shards/${s}/equilibrium`, 'GET', undefined, 200);
      shards.push({ shard: s, catalogueVersion: eq.catalogueVersion, axes: eq.axes, activeEvents: eq.activeEvents });
    }
    const map = await expectStatus(`${url(2)}/shards`, 'GET', undefined, 200);
    const catalogue = await expectStatus(`${url(3)}/catalogue`, 'GET', undefined, 200);
    return { shards, map, catalogueVersion: catalogue.version };
  }

  beforeAll(async () => {
    let ids: string[];
    ({ cluster: c, shards: ids } = await startClusterWithShards({ nodes: 3, tickMs: 20 }, [
      { geography: 'northmarch', replicas: ['n1', 'n2', 'n3'] },
      { geography: 'saltcoast', replicas: ['n1', 'n2', 'n3'] },
    ]));
    expect(ids).toEqual([S, OTHER]);
    // Some state for bad input to leave alone: a written axis and an event.
    await expectStatus(`${url(1)}/shards/${S}/axes/order`, 'PUT', { value: 42 }, 200);
    await expectStatus(`${url(1)}/events`, 'POST', GOOD_EVENT, 202);
  });

  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') for (const id of NODES) console.error(`--- n${id} log ---\n${c.logTail(id)}`);
  });

  afterAll(async () => {
    await c?.stop();
  });

  it('answers each case through every node with its 4xx in the error shape, and applies nothing', async () => {
    const before = await observable();
    const problems: string[] = [];
    for (const k of CASES) {
      // The same case through every node at once.
      await Promise.all(NODES.map(async (id) => {
        const headers = { ...(typeof k.body === 'string' && k.body !== '' ? JSON_CT : {}), ...k.headers };
        const o = await request(`${url(id)}${k.path}`, k.method, k.body === '' ? undefined : k.body, k.body === '' ? { ...JSON_CT, ...headers } : headers);
        const what = `${k.name} (${k.method} ${k.path.slice(0, 80)} via n${id})`;
        if (o.kind !== 'status') {
          problems.push(`${what}: ${describeOutcome(o)}`);
          return;
        }
        const err = o.body?.error;
        if (o.status !== k.status) problems.push(`${what}: status ${o.status}, expected ${k.status}: ${describeOutcome(o)}`);
        if (!o.headers.get('content-type')?.startsWith('application/json')) problems.push(`${what}: content-type ${o.headers.get('content-type')}`);
        if (typeof err?.code !== 'string' || typeof err?.message !== 'string' || err.message.length === 0) {
          problems.push(`${what}: not the error shape {"error":{"code","message"}}: ${describeOutcome(o)}`);
          return;
        }
        if (k.code && err.code !== k.code) problems.push(`${what}: error code ${err.code}, expected ${k.code}: ${err.message}`);
        if (k.uidCode && err.details?.code !== k.uidCode) problems.push(`${what}: UID error code ${err.details?.code}, expected ${k.uidCode}: ${err.message}`);
      }));
    }
    expect(problems).toEqual([]);

    const after = await observable();
    expect(after).toEqual(before);
    for (const id of NODES) expect(c.procs.get(id)?.exitCode, `n${id} exited`).toBeNull();
    await waitHealthy(c, NODES, 10_000);
  });

  it('still works after all that', async () => {
    const put = await expectStatus(`${url(2)}/shards/${S}/axes/order`, 'PUT', { value: 43 }, 200);
    expect(put.index).toBeGreaterThan(0);
    for (const id of NODES) expect((await expectStatus(`${url(id)}/shards/${S}/axes/order`, 'GET', undefined, 200)).value).toBe(43);
    const ev = await expectStatus(`${url(3)}/events`, 'POST', GOOD_EVENT, 202);
    await expectStatus(`${url(1)}/events/${ev.eventUid}`, 'GET', undefined, 200);
    // A well-formed UID of all four levels (longer than fastify's default parameter limit) reaches the handler.
    const long = `${ev.eventUid}.${'d'.repeat(64)}.${'s'.repeat(64)}.${'x'.repeat(64)}`;
    expect((await expectStatus(`${url(2)}/events/${long}`, 'GET', undefined, 200)).uid).toBe(ev.eventUid);
  });
});
