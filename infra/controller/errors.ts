// The controller's errors, in the API's one shape: {"error":{"code","message","details"}}.
// A status says whether anything was applied (503: definitely not; 504: maybe).

export class ControllerError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly retryAfterS?: number,
  ) {
    super(message);
    this.name = 'ControllerError';
  }

  body(): ErrorBody {
    return errorBody(this.code, this.message, this.details);
  }
}

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

export function errorBody(code: string, message: string, details?: unknown): ErrorBody {
  return { error: { code, message, ...(details === undefined ? {} : { details }) } };
}

export const badRequest = (message: string, details?: unknown) => new ControllerError(400, 'bad_request', message, details);
export const notFound = (message: string) => new ControllerError(404, 'not_found', message);
export const conflict = (message: string) => new ControllerError(409, 'conflict', message);
export const notImplemented = (message: string) => new ControllerError(501, 'not_implemented', message);
export const unavailable = (message: string, retryAfterS = 1) => new ControllerError(503, 'unavailable', message, undefined, retryAfterS);
export const indeterminate = (message: string) => new ControllerError(504, 'indeterminate', message);
