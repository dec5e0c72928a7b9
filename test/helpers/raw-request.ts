import { connect } from 'node:net';

/**
 * Sends bytes as they are to the server at `url` (a request `fetch` would refuse or
 * rewrite: repeated or malformed headers, odd bytes); resolves with the raw answer.
 */
export function rawRequest(url: string, bytes: Buffer | string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
    socket.end(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  });
}
