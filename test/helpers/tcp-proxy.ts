import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/** One connection through the proxy: the caller's socket and the one to the target. */
export interface ProxyLink {
  readonly client: Socket;
  readonly upstream: Socket;
}

export interface ProxyFaults {
  /** A chunk from the client: forwarded when this returns true (default). */
  toUpstream?(chunk: Buffer, link: ProxyLink): boolean;
  /** A chunk from the target: forwarded when this returns true (default). */
  toClient?(chunk: Buffer, link: ProxyLink): boolean;
  /** Whether one side's close or error closes the other (default true); false: a half-open link. */
  passCloses?(link: ProxyLink): boolean;
}

/** A TCP proxy on a spare port to `port` on loopback, whose links a test can break as a network does. */
export async function tcpProxy(port: number, faults: ProxyFaults = {}): Promise<{ readonly port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const link: ProxyLink = { client, upstream: connect(port, '127.0.0.1') };
    sockets.add(client).add(link.upstream);
    client.on('data', (chunk: Buffer) => (faults.toUpstream?.(chunk, link) ?? true) && link.upstream.write(chunk));
    link.upstream.on('data', (chunk: Buffer) => (faults.toClient?.(chunk, link) ?? true) && client.write(chunk));
    const end = (): void => {
      if (!(faults.passCloses?.(link) ?? true)) return;
      client.destroy();
      link.upstream.destroy();
    };
    client.on('error', end).on('close', end);
    link.upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
