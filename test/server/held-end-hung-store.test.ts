/**
 * A held end whose store never answers (a custom store with no deadline of its own): the
 * caller's hang-up must still close the server's side of the connection. The deferred
 * destroy (Express's error handler's, kept until the held end goes out) must not keep a
 * connection the peer reset open for ever, its socket and `heldTransports` entry with it.
 */
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import express, { type Request, type Response } from 'express';
import { idempotency, memoryStore, type IdempotencyStore } from '../../src/server/index.js';

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
});

describe('a held end whose store never answers, the caller hangs up', () => {
  it.each([
    ['a reset', (socket: Socket) => socket.resetAndDestroy()],
    ['a close', (socket: Socket) => socket.destroy()],
  ])("after %s, the server's socket is closed", async (_name, hangUp) => {
    const inner = memoryStore();
    const { sync: _sync, ...rest } = inner;
    let completes = 0;
    const store: IdempotencyStore = {
      ...rest,
      complete: () => {
        completes += 1;
        return new Promise<boolean>(() => undefined);
      },
    };
    const app = express();
    app.use(idempotency({ store }));
    app.post('/orders', (_req: Request, res: Response) => void res.status(201).json({ id: 'o1' }));
    const server = createServer(app);
    servers.push(server);
    const serverSockets: Socket[] = [];
    server.on('connection', (s) => serverSockets.push(s));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
    client.on('error', () => undefined);
    await new Promise((resolve) => client.once('connect', resolve));
    client.write('POST /orders HTTP/1.1\r\nHost: x\r\nIdempotency-Key: hung\r\nContent-Length: 0\r\n\r\n');
    await vi.waitFor(() => expect(completes).toBe(1));
    hangUp(client);
    await vi.waitFor(() => expect(serverSockets[0]?.destroyed).toBe(true), { timeout: 2000 });
  });
});
