// The controller's HTTP API (`nimmer up --port`): its own routes — /cluster, /health, /faults —
// and every other route of API.md forwarded to a live node.
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { ControllerBackend } from './backend.ts';
import { collectClusterView, healthReasons, type ClusterView } from './cluster_view.ts';
import { ControllerError, errorBody } from './errors.ts';
import { FaultInjector } from './faults.ts';
import { pipelineMetrics } from './pipeline_metrics.ts';
import { NodeProxy, RESPONSE_HEADERS } from './proxy.ts';

export interface ControllerOptions {
  /** How long a forwarded request may take (the node's own proposal timeout is shorter). */
  proxyTimeoutMs?: number;
  bodyBytesMax?: number;
}

const PROXY_TIMEOUT_MS_DEFAULT = 15_000;
// Nodes enforce their own (smaller) limit and answer 413 themselves.
const BODY_BYTES_MAX_DEFAULT = 1024 * 1024;

export interface Controller {
  app: FastifyInstance;
  faults: FaultInjector;
  clusterView(): Promise<ClusterView>;
  /** Listens on host:port (0: a free port); resolves to the base URL. */
  listen(port: number, host?: string): Promise<string>;
  close(): Promise<void>;
}

export function createController(backend: ControllerBackend, options: ControllerOptions = {}): Controller {
  const faults = new FaultInjector(backend);
  const proxy = new NodeProxy(() => backend.nodes.list(), options.proxyTimeoutMs ?? PROXY_TIMEOUT_MS_DEFAULT);
  const bodyBytesMax = options.bodyBytesMax ?? BODY_BYTES_MAX_DEFAULT;
  const app = Fastify({ bodyLimit: bodyBytesMax, logger: false, return503OnClosing: true });
  const clusterView = () => collectClusterView(backend, faults.list());

  app.setErrorHandler((err: FastifyError | ControllerError | Error, _req, reply) => {
    if (err instanceof ControllerError) {
      if (err.retryAfterS !== undefined) void reply.header('Retry-After', String(err.retryAfterS));
      return reply.status(err.status).send(err.body());
    }
    const fe = err as FastifyError;
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.status(413).send(errorBody('payload_too_large', `request body is larger than ${bodyBytesMax} bytes`));
    }
    if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return reply.status(415).send(errorBody('unsupported_media_type', 'send JSON with Content-Type: application/json'));
    }
    if (fe instanceof SyntaxError || fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
      return reply.status(400).send(errorBody('invalid_json', `the body is not valid JSON: ${fe.message}`));
    }
    if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
      return reply.status(fe.statusCode).send(errorBody('bad_request', fe.message));
    }
    console.error(`controller: internal error: ${err.stack ?? err.message}`);
    return reply.status(500).send(errorBody('internal', `controller internal error: ${err.message}`));
  });

  app.get('/cluster', async () => clusterView());

  app.get('/health', async (_req, reply) => {
    const reasons = healthReasons(await clusterView());
    if (reasons.length > 0) return reply.status(503).header('Retry-After', '1').send({ status: 'degraded', reasons });
    return { status: 'ok' };
  });

  // A node's /metrics (as any other forwarded route) plus the launcher's own pipeline series.
  app.get('/metrics', async (req, reply) => {
    let text = '';
    let contentType = 'text/plain; version=0.0.4';
    try {
      const r = await proxy.forward({ method: 'GET', url: req.url, headers: req.headers, body: undefined });
      if (r.status !== 200) return reply.status(r.status).header('content-type', r.headers.get('content-type') ?? 'application/json').send(r.body);
      text = r.body.toString('utf8');
      contentType = r.headers.get('content-type') ?? contentType;
    } catch (e) {
      if (backend.pipeline === undefined) throw e;
      text = `# no node answered: ${(e as Error).message.split('\n')[0]}\n`;
    }
    const pipeline = await backend.pipeline?.().catch(() => null);
    if (pipeline != null) text += pipelineMetrics(pipeline);
    return reply.header('content-type', contentType).send(text);
  });

  app.get('/faults', async () => ({ faults: faults.list() }));
  app.post('/faults', async (req, reply) => reply.status(201).send(await faults.inject(req.body)));
  app.delete('/faults', async () => faults.healAll());
  app.delete<{ Params: { id: string } }>('/faults/:id', async (req) => ({ healed: await faults.heal(req.params.id) }));

  // Everything else goes to a node, body untouched: its own validation answers bad input.
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    scope.all('/*', async (req, reply) => {
      const r = await proxy.forward({
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: Buffer.isBuffer(req.body) ? req.body : undefined,
      });
      for (const name of RESPONSE_HEADERS) {
        const v = r.headers.get(name);
        if (v !== null) void reply.header(name, v);
      }
      return reply.status(r.status).send(r.body);
    });
  });

  return {
    app,
    faults,
    clusterView,
    async listen(port, host = '127.0.0.1') {
      await app.listen({ port, host });
      const address = app.server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : port;
      return `http://${host}:${bound}`;
    },
    close: () => app.close(),
  };
}
