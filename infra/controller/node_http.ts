// HTTP calls from the controller (and the bootstrap) to node processes: bounded by a timeout,
// and failures classified by what they imply — a refused connection never reached the node, so
// any request may go elsewhere; a timeout or reset after sending may have been applied.

export type NodeCallFailure =
  /** Nothing was sent (connection refused, host unreachable, connect timeout). */
  | 'not_connected'
  /** Sent, but no complete answer in time: the request may or may not have been applied. */
  | 'timeout'
  /** Sent, then the connection broke: the request may or may not have been applied. */
  | 'broken';

export interface NodeResponse {
  status: number;
  headers: Headers;
  body: Buffer;
}

export class NodeCallError extends Error {
  constructor(
    readonly failure: NodeCallFailure,
    readonly url: string,
    message: string,
  ) {
    super(message);
    this.name = 'NodeCallError';
  }
}

const NOT_CONNECTED_CODES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ENOTFOUND',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function errorCode(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let depth = 0; depth < 4 && cur !== null && typeof cur === 'object'; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

export interface NodeRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  timeoutMs: number;
}

/** One request to a node; throws NodeCallError when no HTTP answer came back. */
export async function callNode(url: string, req: NodeRequest): Promise<NodeResponse> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), req.timeoutMs);
  try {
    const response = await fetch(url, {
      method: req.method ?? 'GET',
      headers: req.headers ?? {},
      body: req.body,
      signal: controller.signal,
    });
    const body = Buffer.from(await response.arrayBuffer());
    return { status: response.status, headers: response.headers, body };
  } catch (e) {
    if (controller.signal.aborted) {
      throw new NodeCallError('timeout', url, `${url} did not answer within ${req.timeoutMs} ms`);
    }
    const code = errorCode(e);
    const failure: NodeCallFailure = code !== undefined && NOT_CONNECTED_CODES.has(code) ? 'not_connected' : 'broken';
    throw new NodeCallError(failure, url, `${url}: ${code ?? (e instanceof Error ? e.message : String(e))}`);
  } finally {
    clearTimeout(timer);
  }
}

/** GET url and parse JSON; null when the node did not answer or the body is not JSON. */
export async function getNodeJson(url: string, timeoutMs: number): Promise<{ status: number; body: unknown } | null> {
  try {
    const r = await callNode(url, { timeoutMs, headers: { accept: 'application/json' } });
    try {
      return { status: r.status, body: JSON.parse(r.body.toString('utf8')) as unknown };
    } catch {
      return { status: r.status, body: r.body.toString('utf8') };
    }
  } catch {
    return null;
  }
}

/** Sends JSON and parses the JSON answer; throws NodeCallError when there was no answer. */
export async function sendNodeJson(
  url: string,
  method: string,
  payload: unknown,
  timeoutMs: number,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown }> {
  const r = await callNode(url, {
    method,
    timeoutMs,
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    body: JSON.stringify(payload),
  });
  const text = r.body.toString('utf8');
  try {
    return { status: r.status, body: JSON.parse(text) as unknown };
  } catch {
    return { status: r.status, body: text };
  }
}
