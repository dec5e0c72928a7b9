import express, { type Request, type Response } from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { createVerifier, idempotency, type Verifier } from '../../src/server/index.js';
import { headerPrincipal } from '../../src/server/principal.js';
import { startServer, type ListeningServer } from '../helpers/http-server.js';
import { post } from '../helpers/post.js';

const verifiers: Verifier[] = [];
const servers: ListeningServer[] = [];
afterEach(async () => {
  for (const v of verifiers.splice(0)) await v.close();
  for (const s of servers.splice(0)) await s.close();
});

async function verifier(options: Parameters<typeof createVerifier>[0] = {}): Promise<string> {
  const v = createVerifier(options);
  verifiers.push(v);
  return v.listen(0);
}

describe('keys are scoped per caller by default', () => {
  it("never replays alice's stored 201 to mallory, who sends alice's key with his own credentials", async () => {
    const url = await verifier();
    const alice = await post(`${url}/orders`, { key: 'k-alice', body: { item: 'tea' }, headers: { Authorization: 'Bearer alice' } });
    expect(alice.status).toBe(201);
    const mallory = await post(`${url}/orders`, { key: 'k-alice', body: { item: 'tea' }, headers: { Authorization: 'Bearer mallory' } });
    expect(mallory.headers.get('idempotent-replayed')).toBeNull();
    expect(mallory.headers.get('location')).not.toBe(alice.headers.get('location'));
    expect(mallory.json().id).not.toBe(alice.json().id);
    // Alice herself still gets her replay, and so does a caller without credentials get nothing of hers.
    expect((await post(`${url}/orders`, { key: 'k-alice', body: { item: 'tea' }, headers: { Authorization: 'Bearer alice' } })).text).toBe(alice.text);
    expect((await post(`${url}/orders`, { key: 'k-alice', body: { item: 'tea' } })).headers.get('idempotent-replayed')).toBeNull();
  });

  it('hashes the named session cookies too, and never keeps the credentials themselves', async () => {
    const v = createVerifier({ principalCookies: ['session'] });
    verifiers.push(v);
    const url = await v.listen(0);
    const a = await post(`${url}/orders`, { key: 'c', body: {}, headers: { Cookie: 'theme=dark; session=aaa' } });
    const b = await post(`${url}/orders`, { key: 'c', body: {}, headers: { Cookie: 'session=bbb; theme=dark' } });
    expect(b.headers.get('idempotent-replayed')).toBeNull();
    expect(b.json().id).not.toBe(a.json().id);
    // Cookies not named do not split the key space.
    const again = await post(`${url}/orders`, { key: 'c', body: {}, headers: { Cookie: 'session=aaa; theme=light' } });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const principals = v.stats().keys.map((k) => k.principal);
    expect(principals).toHaveLength(2);
    for (const p of principals) {
      expect(p).toMatch(/^cred:[\w-]{22}$/);
      expect(p).not.toContain('aaa');
    }
  });

  it('shares one key space only when asked: principal: false', async () => {
    const url = await verifier({ principal: false });
    const alice = await post(`${url}/orders`, { key: 'shared', body: {}, headers: { Authorization: 'Bearer alice' } });
    const mallory = await post(`${url}/orders`, { key: 'shared', body: {}, headers: { Authorization: 'Bearer mallory' } });
    expect(mallory.headers.get('idempotent-replayed')).toBe('true');
    expect(mallory.text).toBe(alice.text);
  });

  it('takes a trusted header as the principal with headerPrincipal', async () => {
    const url = await verifier({ principal: headerPrincipal('X-User') });
    const alice = await post(`${url}/orders`, { key: 'h', body: {}, headers: { 'X-User': 'alice', Authorization: 'Bearer x' } });
    const bob = await post(`${url}/orders`, { key: 'h', body: {}, headers: { 'X-User': 'bob', Authorization: 'Bearer x' } });
    expect(bob.json().id).not.toBe(alice.json().id);
    const aliceElsewhere = await post(`${url}/orders`, { key: 'h', body: {}, headers: { 'X-User': 'alice', Authorization: 'Bearer y' } });
    expect(aliceElsewhere.text).toBe(alice.text);
  });

  it('scopes keys in Express too without a principal option', async () => {
    let runs = 0;
    const app = express();
    app.use(express.json(), idempotency());
    app.post('/pay', (_req: Request, res: Response) => {
      res.status(201).json({ run: ++runs });
    });
    const server = await startServer(app);
    servers.push(server);
    await post(`${server.url}/pay`, { key: 'p', body: {}, headers: { Authorization: 'Bearer alice' } });
    const other = await post(`${server.url}/pay`, { key: 'p', body: {}, headers: { Authorization: 'Bearer mallory' } });
    expect(other.json()).toEqual({ run: 2 });
  });

  it('answers a principal resolver that throws with a 500 problem, and runs nothing', async () => {
    let runs = 0;
    const mw = idempotency({
      principal: () => {
        throw new Error('the session store is down');
      },
    });
    const server = await startServer(mw.handler((_req, res) => {
      runs++;
      res.end('ran');
    }));
    servers.push(server);
    const answer = await post(`${server.url}/orders`, { key: 'k', body: {} });
    expect(answer.status).toBe(500);
    expect(answer.json().type).toBe('https://submit-once.dev/problems/handler-failed');
    expect(runs).toBe(0);
  });
});
