// The content of a 'nimmer.publish' logical message, as nimmer.publish_bytes writes it
// (transport/sql/migrations/003_publish.sql): subject NUL headers-json NUL payload.
export const PUBLISH_MESSAGE_PREFIX = 'nimmer.publish';

export interface PublishRecord {
  subject: string;
  /** Null when published without headers. */
  headers: Record<string, string> | null;
  payload: Uint8Array;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function decodePublishMessage(content: Uint8Array): PublishRecord {
  const first = content.indexOf(0);
  const second = first < 0 ? -1 : content.indexOf(0, first + 1);
  if (first <= 0 || second < 0) {
    throw new Error(`a '${PUBLISH_MESSAGE_PREFIX}' message without its two NUL separators (${content.length} bytes); was it written by nimmer.publish_bytes?`);
  }
  const subject = utf8.decode(content.subarray(0, first));
  const headersText = utf8.decode(content.subarray(first + 1, second));
  const headers = headersText === '' ? null : (JSON.parse(headersText) as Record<string, string>);
  return { subject, headers, payload: content.subarray(second + 1) };
}
