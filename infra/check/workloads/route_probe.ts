// Whether the cluster serves a route at all: the node answers a route it does not have with
// 404 "no route METHOD /path" (shards/http/server.ts), which a workload turns into a clear error.
import { request } from '../http.ts';

export async function routeMissing(url: string, method: 'GET' | 'POST', timeoutMs: number): Promise<boolean> {
  const answer = await request({ method, url, timeoutMs, ...(method === 'POST' ? { body: {} } : {}) });
  const message = (answer.body as { error?: { message?: unknown } } | null)?.error?.message;
  return answer.status === 404 && typeof message === 'string' && message.startsWith('no route');
}
