// The HTTP error model of API.md: every error is {"error":{"code","message","details"}} with a
// status that tells the caller whether anything was applied (503: definitely not; 504: maybe).

export type ApiErrorCode =
  | 'bad_request'
  | 'invalid_json'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'not_found'
  | 'conflict'
  | 'unavailable'
  | 'indeterminate'
  | 'internal';

export class ApiError extends Error {
  readonly status: number;
  readonly code: ApiErrorCode | string;
  readonly details: unknown;
  readonly retryAfterS: number | undefined;

  constructor(status: number, code: ApiErrorCode | string, message: string, details?: unknown, retryAfterS?: number) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfterS = retryAfterS;
  }

  body(): { error: { code: string; message: string; details?: unknown } } {
    return { error: { code: this.code, message: this.message, ...(this.details === undefined ? {} : { details: this.details }) } };
  }
}

export const badRequest = (message: string, details?: unknown) => new ApiError(400, 'bad_request', message, details);
export const notFound = (message: string, details?: unknown) => new ApiError(404, 'not_found', message, details);
export const conflict = (message: string, details?: unknown) => new ApiError(409, 'conflict', message, details);
export const unavailable = (message: string, retryAfterS = 1) => new ApiError(503, 'unavailable', message, undefined, retryAfterS);
export const indeterminate = (message: string) => new ApiError(504, 'indeterminate', message);
