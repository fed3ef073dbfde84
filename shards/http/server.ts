// The fastify server shared by the node process and the controller: JSON only, bounded bodies,
// every error (ours, fastify's, a bug's) mapped to the API's JSON error shape.
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { ApiError } from './errors.ts';

export interface ServerOptions {
  bodyBytesMax?: number;
  logger?: boolean;
  onInternalError?: (e: unknown) => void;
}

const PARAM_CHARS_MAX = 1024;

export function createServer(opts: ServerOptions = {}): FastifyInstance {
  const app = Fastify({
    bodyLimit: opts.bodyBytesMax ?? 64 * 1024,
    logger: opts.logger ?? false,
    return503OnClosing: true,
    // Long enough for any UID (4 tokens of 64 characters), so a bad one reaches its handler's 400.
    routerOptions: { maxParamLength: PARAM_CHARS_MAX },
    // The router's own refusals (a malformed percent-encoding, an overlong path parameter) answer
    // in the API's error shape too, not fastify's default one.
    frameworkErrors: (err, _req, reply) => {
      const status = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 414 : 400;
      void (reply as FastifyReply).status(status).send({ error: { code: 'bad_request', message: `${err.message}; path parameters are at most ${PARAM_CHARS_MAX} characters of valid percent-encoded UTF-8` } });
    },
  });
  app.setErrorHandler((err: FastifyError | ApiError | Error, _req, reply) => {
    if (err instanceof ApiError) {
      if (err.retryAfterS !== undefined) void reply.header('Retry-After', String(err.retryAfterS));
      return reply.status(err.status).send(err.body());
    }
    const fe = err as FastifyError;
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.status(413).send({ error: { code: 'payload_too_large', message: `request body is larger than ${opts.bodyBytesMax ?? 64 * 1024} bytes` } });
    }
    if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return reply.status(415).send({ error: { code: 'unsupported_media_type', message: 'send JSON with Content-Type: application/json' } });
    }
    if (fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || fe instanceof SyntaxError || fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
      return reply.status(400).send({ error: { code: 'invalid_json', message: `the body is not valid JSON: ${fe.message}` } });
    }
    if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
      return reply.status(fe.statusCode).send({ error: { code: 'bad_request', message: fe.message } });
    }
    opts.onInternalError?.(err);
    return reply.status(500).send({ error: { code: 'internal', message: 'internal error; the request may not have been applied — check the operation and retry' } });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: { code: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` } });
  });
  return app;
}
