/**
 * A cut (the handler's own destroy, or the server's around it: its socket timeout) does
 * not end the handler: it may still be making its effect. With `recovery: true` an
 * unknown key is run again, so a cut must not turn the key unknown while its handler
 * still runs, or the retry runs the effect a second time alongside the first.
 */
import { createReadStream } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { pipeline } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { idempotency } from '../../src/server/index.js';
import { post } from '../helpers/post.js';
import { serverPerTest } from '../helpers/serve.js';

const serve = serverPerTest();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('recovery: true, a cut while the handler still runs', () => {
  it.each<[string, (res: ServerResponse) => void]>([
    ["the server's socket timeout destroys the connection (no head yet)", (res) => void res.socket!.setTimeout(30)],
    ['the handler destroys its response mid-body, then goes on', (res) => (res.writeHead(201), res.write('part'), res.destroy())],
  ])('%s: the retry does not run the handler alongside it', async (_name, cut) => {
    let runs = 0;
    let charges = 0;
    let running = 0;
    let overlapped = false;
    const url = await serve(
      idempotency({ recovery: true }).handler(async (_req, res) => {
        runs++;
        running++;
        if (running > 1) overlapped = true;
        cut(res);
        await sleep(400);
        charges++;
        running--;
        if (!res.destroyed) res.end('charged');
      }),
    );
    const first = post(`${url}/orders`, { key: 'slow-charge', body: {} }).catch(() => 'cut');
    await sleep(150);
    const retry = await post(`${url}/orders`, { key: 'slow-charge', body: {} }).catch(() => undefined);
    await first;
    await sleep(500);
    expect({ runs, charges, overlapped }).toEqual({ runs: 1, charges: 1, overlapped: false });
    expect(retry?.status).toBe(409);
  });
});

describe('a cut, then a throw that is no hang-up', () => {
  it('res.destroy() mid-body, then the handler throws: the retry does not run the handler again', async () => {
    let runs = 0;
    const url = await serve(
      idempotency().handler(async (_req, res) => {
        runs++;
        res.writeHead(201);
        res.write('part');
        await sleep(20);
        res.destroy();
        await sleep(20);
        throw new Error('receipt template failed after the charge');
      }),
    );
    await post(`${url}/orders`, { key: 'cut-then-throw', body: {} }).catch(() => undefined);
    await sleep(100);
    const retry = await post(`${url}/orders`, { key: 'cut-then-throw', body: {} }).catch(() => undefined);
    expect(runs).toBe(1);
    expect(retry?.status).toBe(500);
  });
});

describe('recovery: true, a cut, then a throw that is no hang-up', () => {
  it('the key turns unknown (the retry is a recovery run), not released as a throw would free it', async () => {
    const recoveries: boolean[] = [];
    const events: string[] = [];
    const url = await serve(
      idempotency({ recovery: true, onEvent: (event) => events.push(event.type) }).handler(async (req, res) => {
        recoveries.push(req.idempotency?.recovery === true);
        if (recoveries.length > 1) return void res.end('recovered');
        res.writeHead(201);
        res.write('part');
        await sleep(20);
        res.destroy();
        await sleep(20);
        throw new Error('receipt template failed after the charge');
      }),
    );
    await post(`${url}/orders`, { key: 'cut-then-throw', body: {} }).catch(() => undefined);
    await sleep(100);
    await post(`${url}/orders`, { key: 'cut-then-throw', body: {} });
    expect(recoveries).toEqual([false, true]);
    expect(events).not.toContain('released');
  });
});

describe('recovery: true, a cut whose handler then resolves', () => {
  // Decided (s39): a settled promise does not prove the handler's work ended (it may go on
  // in the background), so the key stays in flight until maxRunMs and its lease run out,
  // then the retry is a recovery run; never one alongside the first.
  it('the retry gets 409 within maxRunMs, then a recovery run once the lease ran out', async () => {
    const maxRunMs = 300;
    const leaseMs = 100;
    const recoveries: boolean[] = [];
    const events: string[] = [];
    let startedAt = 0;
    let resolved = false;
    const url = await serve(
      idempotency({ recovery: true, maxRunMs, leaseMs, onEvent: (event) => events.push(event.type) }).handler(async (req, res) => {
        recoveries.push(req.idempotency?.recovery === true);
        if (recoveries.length > 1) return void res.writeHead(201).end('made');
        startedAt = performance.now();
        res.writeHead(201, { 'Content-Type': 'text/plain' });
        // Reading a directory fails at its first read; pipeline destroys res, its callback only resolves.
        await new Promise<void>((resolve) => pipeline(createReadStream(tmpdir()), res, () => resolve()));
        resolved = true;
      }),
    );
    await post(`${url}/orders`, { key: 'resolved-after-cut', body: {} }).catch(() => undefined);
    await sleep(100 - (performance.now() - startedAt));
    const within = await post(`${url}/orders`, { key: 'resolved-after-cut', body: {} });
    expect(performance.now() - startedAt).toBeLessThan(maxRunMs);
    expect({ resolved, status: within.status }).toEqual({ resolved: true, status: 409 });
    expect(recoveries).toEqual([false]);
    // Past maxRunMs the lease is no longer renewed; it runs out at most one lease later.
    await sleep(maxRunMs + leaseMs + 150 - (performance.now() - startedAt));
    const after = await post(`${url}/orders`, { key: 'resolved-after-cut', body: {} });
    expect({ status: after.status, text: after.text }).toEqual({ status: 201, text: 'made' });
    expect(recoveries).toEqual([false, true]);
    expect(events).toContain('run-overdue');
  });
});
