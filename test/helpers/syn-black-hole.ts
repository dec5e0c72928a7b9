import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';

/**
 * A port whose TCP handshake never completes, as behind a firewall that drops packets: a
 * child process listens with a backlog of one and then blocks its event loop, so it never
 * accepts; two connections fill the queue, and the kernel drops every later SYN.
 */
export async function synBlackHole(): Promise<{ readonly port: number; close(): void }> {
  const script = `const s = require('node:net').createServer();
s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
  process.stdout.write(s.address().port + '\\n');
  setTimeout(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0), 20);
});`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    child.once('exit', () => reject(new Error('the black hole exited')));
  });
  await new Promise((resolve) => setTimeout(resolve, 100));
  const fillers: Socket[] = [];
  for (let i = 0; i < 2; i++) {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the backlog did not take the filler connection')), 2_000);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    fillers.push(socket);
  }
  return {
    port,
    close: () => {
      for (const socket of fillers) socket.destroy();
      child.kill('SIGKILL');
    },
  };
}
