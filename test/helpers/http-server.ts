/**
 * Real HTTP servers on loopback for tests: `startServer` runs any listener on a free
 * port; `startTestServer` is the recording one, whose answers each test scripts and which
 * logs every request.
 */
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ListeningServer {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/** `listener` as a real HTTP server on a free loopback port. */
export async function startServer(listener: RequestListener): Promise<ListeningServer> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface SeenRequest {
  method: string;
  path: string;
  key: string | undefined;
  body: string;
}

/** One scripted answer: a status (with headers/body), a dropped connection, or a delay first. */
export type Reply =
  | { status: number; headers?: Record<string, string>; body?: string; delayMs?: number }
  | { drop: true; delayMs?: number };

export interface TestServer {
  url: string;
  seen: SeenRequest[];
  /** Answers queued for the next requests; when empty, `fallback` answers. */
  replies: Reply[];
  fallback: Reply;
  close(): Promise<void>;
}

export async function startTestServer(header = 'idempotency-key'): Promise<TestServer> {
  const state = {
    seen: [] as SeenRequest[],
    replies: [] as Reply[],
    fallback: { status: 201, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' } as Reply,
  };
  // The recording server is `startServer` with a listener that logs and answers from the script.
  const { url, close } = await startServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const keyHeader = req.headers[header];
      state.seen.push({
        method: req.method ?? '',
        path: req.url ?? '',
        key: Array.isArray(keyHeader) ? keyHeader[0] : keyHeader,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      const reply = state.replies.shift() ?? state.fallback;
      setTimeout(() => {
        if ('drop' in reply) {
          req.socket.destroy();
          return;
        }
        res.writeHead(reply.status, reply.headers ?? {});
        res.end(reply.body ?? '');
      }, reply.delayMs ?? 0);
    });
  });
  return {
    url,
    get seen() {
      return state.seen;
    },
    get replies() {
      return state.replies;
    },
    set replies(value) {
      state.replies = value;
    },
    get fallback() {
      return state.fallback;
    },
    set fallback(value) {
      state.fallback = value;
    },
    close,
  };
}
