/**
 * The in-process load of the allocation and retention tools: POST /orders with a fresh
 * key each, `concurrency` at a time over keep-alive connections.
 */
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';

const body = JSON.stringify({ item: 'tea', qty: 1 });

export interface KeepAliveLoad {
  run(requests: number): Promise<void>;
  close(): void;
}

export function keepAliveLoad(port: number, concurrency = 10): KeepAliveLoad {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'idempotency-key': randomUUID() };
      const req = request({ agent, port, host: '127.0.0.1', path: '/orders', method: 'POST', headers }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end(body);
    });
  return {
    async run(requests: number): Promise<void> {
      for (let i = 0; i < requests; i += concurrency) await Promise.all(Array.from({ length: concurrency }, one));
    },
    close: () => agent.destroy(),
  };
}
