// The CLI's HTTP client for the controller of `nimmer up`, with errors that say what to do.
export const CONTROLLER_URL_DEFAULT = 'http://127.0.0.1:7070';
const REQUEST_TIMEOUT_MS = 20_000;

export class ControllerUnreachableError extends Error {
  constructor(url: string, cause: string) {
    super(
      `cannot reach the nimmer controller at ${url} (${cause}). Is \`nimmer up\` running? ` +
        'Start it with `npm start` (or `nimmer up`), or point at it with --url <controller URL>.',
    );
    this.name = 'ControllerUnreachableError';
  }
}

/** A non-2xx answer; `message` is the API error's message. */
export class ControllerAnswerError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    what: string,
  ) {
    const error = (body as { error?: { code?: string; message?: string } } | null)?.error;
    super(`${what} failed: ${status}${error?.code ? ` ${error.code}` : ''}: ${error?.message ?? JSON.stringify(body)}`);
    this.name = 'ControllerAnswerError';
  }
}

export interface Answer {
  status: number;
  body: unknown;
}

export class ControllerClient {
  readonly baseUrl: string;

  constructor(baseUrl: string = CONTROLLER_URL_DEFAULT) {
    let url: URL;
    try {
      url = new URL(baseUrl);
    } catch {
      throw new Error(`--url: '${baseUrl}' is not a URL (expected e.g. ${CONTROLLER_URL_DEFAULT})`);
    }
    this.baseUrl = url.toString().replace(/\/$/, '');
  }

  /** Any answer (including 4xx/5xx); throws only when the controller cannot be reached. */
  async request(method: string, path: string, body?: unknown): Promise<Answer> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: body === undefined ? { accept: 'application/json' } : { 'content-type': 'application/json', accept: 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
      throw new ControllerUnreachableError(this.baseUrl, cause);
    }
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Not JSON: keep the text.
    }
    return { status: response.status, body: parsed };
  }

  /** The body of a 2xx answer; a ControllerAnswerError otherwise. */
  async expectOk(method: string, path: string, body?: unknown): Promise<unknown> {
    const r = await this.request(method, path, body);
    if (r.status < 200 || r.status >= 300) throw new ControllerAnswerError(r.status, r.body, `${method} ${path}`);
    return r.body;
  }
}
