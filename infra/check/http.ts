// One HTTP request of a check client, and what its answer means for safety (API.md):
// 2xx done · 503 definitely not applied · 504 indeterminate · 4xx rejected (not applied) ·
// no connection at all (refused) not applied · a timeout or a connection lost after sending
// indeterminate.

export type Outcome = 'ok' | 'fail' | 'info';

export interface HttpAnswer {
  /** The HTTP status; null when no answer came. */
  status: number | null;
  body: unknown;
  /** Why there was no answer (timeout, ECONNRESET, …). */
  error?: string;
  /** True when the request certainly never reached a server (connection refused). */
  neverSent: boolean;
}

export interface RequestSpec {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  url: string;
  body?: unknown;
  timeoutMs: number;
}

const ERROR_BODY_CHARS_MAX = 500;

function causeCode(e: unknown): string {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'timeout';
  return err.cause?.code ?? err.cause?.message ?? err.message ?? String(e);
}

export async function request(spec: RequestSpec): Promise<HttpAnswer> {
  let response: Response;
  let text: string;
  try {
    response = await fetch(spec.url, {
      method: spec.method,
      headers: spec.body === undefined ? { accept: 'application/json' } : { 'content-type': 'application/json', accept: 'application/json' },
      body: spec.body === undefined ? undefined : JSON.stringify(spec.body),
      signal: AbortSignal.timeout(spec.timeoutMs),
    });
    text = await response.text();
  } catch (e) {
    const code = causeCode(e);
    return { status: null, body: null, error: code, neverSent: code === 'ECONNREFUSED' };
  }
  let body: unknown = text;
  try {
    body = text === '' ? null : JSON.parse(text);
  } catch {
    body = text.slice(0, ERROR_BODY_CHARS_MAX);
  }
  return { status: response.status, body, neverSent: false };
}

/**
 * The safety meaning of an answer. 4xx means the request was refused before anything applied
 * ('fail'); any other 5xx than 503, and every lost answer, may have applied ('info').
 */
export function outcomeOf(answer: HttpAnswer): Outcome {
  const s = answer.status;
  if (s === null) return answer.neverSent ? 'fail' : 'info';
  if (s >= 200 && s < 300) return 'ok';
  if (s === 503 || (s >= 400 && s < 500)) return 'fail';
  return 'info';
}

/** A short description of an answer for error messages and samples. */
export function describeAnswer(answer: HttpAnswer): string {
  if (answer.status === null) return `no answer (${answer.error ?? 'unknown error'})`;
  const error = (answer.body as { error?: { code?: string; message?: string } } | null)?.error;
  return `${answer.status}${error?.code ? ` ${error.code}` : ''}${error?.message ? `: ${error.message}` : ''}`;
}

/**
 * Repeats a request while the cluster answers 'not now' (503, 504, no answer) until a definite
 * answer or the deadline. Only for idempotent requests (setup writes of a fixed value, reads).
 */
export async function requestUntilDefinite(spec: RequestSpec, deadlineMs: number, pauseMs = 200): Promise<HttpAnswer> {
  for (;;) {
    const answer = await request(spec);
    const retry = answer.status === null || answer.status === 503 || answer.status === 504;
    if (!retry) return answer;
    if (Date.now() + pauseMs > deadlineMs) return answer;
    await new Promise((r) => setTimeout(r, pauseMs));
  }
}
