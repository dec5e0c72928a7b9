/**
 * The middleware with real multer (2.x), Express 5 and 4, memory and disk storage.
 *
 * Mounted before the middleware, multer reads the whole stream and leaves only the text
 * fields in `req.body`, the files in `req.file`/`req.files`. The middleware fingerprinted
 * that `req.body` alone, so two uploads of different files with one caption under one key
 * were one payload: the second was answered with the first one's replay and never ran
 * (at the origin: one upload stored, the other dropped, its user told it was stored).
 *
 * Mounted after the middleware, multer finds the stream read: busboy ends at once
 * ("Unexpected end of form"), a 500, nothing runs, no hang. Fed the middleware's
 * `req.rawBody` through multer's `streamHandler`, it parses the upload as usual.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import multer from 'multer';
import { afterAll, describe, expect, it } from 'vitest';
import { idempotency, type IdempotentRequest } from '../../src/server/index.js';
import { payloadFingerprint } from '../../src/server/fingerprint.js';
import { express4 } from '../helpers/express4.js';
import { serverPerTest } from '../helpers/serve.js';

const serve = serverPerTest();
const CONSUMED = 'https://submit-once.dev/problems/body-consumed';
const uploads = mkdtempSync(join(tmpdir(), 'submit-once-multer-'));
afterAll(() => rmSync(uploads, { recursive: true, force: true }));

type Storage = 'memory' | 'disk';
const storageOf = (kind: Storage): multer.StorageEngine => (kind === 'memory' ? multer.memoryStorage() : multer.diskStorage({ destination: uploads }));

/** What a handler behind multer stores: each file's field, name, type and bytes, read as multer left them. */
function contentOf(file: Express.Multer.File): string {
  const bytes = file.buffer ?? readFileSync(file.path);
  return `${file.fieldname}:${file.originalname}:${file.mimetype}:${bytes.toString('latin1')}`;
}

function filesOf(req: Request): Express.Multer.File[] {
  if (req.file !== undefined) return [req.file];
  const { files } = req;
  if (files === undefined) return [];
  return Array.isArray(files) ? files : Object.values(files).flat();
}

interface Upload {
  readonly caption?: string;
  /** Field name, filename, type, bytes; in this order in the body. */
  readonly files: readonly (readonly [field: string, name: string, type: string, bytes: string])[];
}

/** Node's fetch(FormData): a new random boundary at each call, as a browser's own fetch. */
function send(url: string, key: string, upload: Upload): Promise<globalThis.Response> {
  const form = new FormData();
  if (upload.caption !== undefined) form.append('caption', upload.caption);
  for (const [field, name, type, bytes] of upload.files) form.append(field, new Blob([Buffer.from(bytes, 'latin1')], { type }), name);
  return fetch(`${url}/photos`, { method: 'POST', headers: { 'Idempotency-Key': key }, body: form });
}

/** An app with `before` mounted before the middleware and `after` between it and the route; what ran at the origin. */
async function app(ex: typeof express, before: RequestHandler[], after: RequestHandler[] = [], required = true) {
  const stored: string[] = [];
  const mw = idempotency({ principal: false, required });
  const server = ex();
  server.post('/photos', ...before, mw, ...after, (req: Request, res: Response) => {
    const body = req.body as Record<string, unknown> | undefined;
    stored.push(`${String(body?.caption)}|${filesOf(req).map(contentOf).join('|')}`);
    res.status(201).send(`stored ${stored.length}`);
  });
  server.use(mw.errorHandler);
  server.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).send(`error: ${(error as Error).message}`);
  });
  return { url: await serve(server), stored };
}

const PHOTO = ['photo', 'p.jpg', 'image/jpeg', 'AAA\xff\x00\r\n'] as const;
const OTHER = ['photo', 'p.jpg', 'image/jpeg', 'BBB\xff\x00\r\n'] as const;

const uses: readonly (readonly [string, (m: multer.Multer) => RequestHandler])[] = [
  ['.single', (m) => m.single('photo')],
  ['.array', (m) => m.array('photo')],
  ['.fields', (m) => m.fields([{ name: 'photo' }, { name: 'extra' }])],
  ['.any', (m) => m.any()],
];

describe.each([
  ['Express 5', express],
  ['Express 4', express4],
] as const)('multer mounted before the middleware, %s', (_, ex) => {
  describe.each(['memory', 'disk'] as const)('%s storage', (storage) => {
    it.each(uses)('%s: two uploads of different photos with one caption under one key: the second is 422, not the first one\'s answer', async (_use, use) => {
      const { url, stored } = await app(ex, [use(multer({ storage: storageOf(storage) }))]);
      const first = await send(url, 'k1', { caption: 'holiday', files: [PHOTO] });
      expect(first.status).toBe(201);
      const second = await send(url, 'k1', { caption: 'holiday', files: [OTHER] });
      expect(stored).toEqual([`holiday|${PHOTO.slice(0, 3).join(':')}:${PHOTO[3]}`]);
      expect(second.headers.get('idempotent-replayed')).toBeNull();
      expect(second.status).toBe(422);
    });

    it.each(uses)('%s: the same upload retried (a new boundary): replayed, run once', async (_use, use) => {
      const { url, stored } = await app(ex, [use(multer({ storage: storageOf(storage) }))]);
      const first = await send(url, 'k1', { caption: 'holiday', files: [PHOTO] });
      const retry = await send(url, 'k1', { caption: 'holiday', files: [PHOTO] });
      expect(stored).toHaveLength(1);
      expect(retry.status).toBe(201);
      expect(retry.headers.get('idempotent-replayed')).toBe('true');
      expect(await retry.text()).toBe(await first.text());
    });
  });

  it('disk storage: the file of a replayed retry stays where multer put it (the handler, which would move it, does not run)', async () => {
    const dir = mkdtempSync(join(uploads, 'replayed-'));
    const { url, stored } = await app(ex, [multer({ dest: dir }).single('photo')]);
    await send(url, 'k1', { caption: 'holiday', files: [PHOTO] });
    expect((await send(url, 'k1', { caption: 'holiday', files: [PHOTO] })).headers.get('idempotent-replayed')).toBe('true');
    expect(stored).toHaveLength(1);
    expect(readdirSync(dir)).toHaveLength(2);
  });

  it.each([
    ['another filename', ['photo', 'q.jpg', 'image/jpeg', PHOTO[3]]],
    ['another type', ['photo', 'p.jpg', 'image/png', PHOTO[3]]],
    ['another field', ['extra', 'p.jpg', 'image/jpeg', PHOTO[3]]],
  ] as const)('the same bytes under %s: 422', async (_what, other) => {
    const { url, stored } = await app(ex, [multer({ storage: multer.memoryStorage() }).any()]);
    await send(url, 'k1', { caption: 'holiday', files: [PHOTO] });
    const second = await send(url, 'k1', { caption: 'holiday', files: [other] });
    expect(stored).toHaveLength(1);
    expect(second.status).toBe(422);
  });

  it('two files in another order (.array): 422; in the same order: replayed', async () => {
    const { url, stored } = await app(ex, [multer({ storage: multer.memoryStorage() }).array('photo')]);
    await send(url, 'k1', { files: [PHOTO, OTHER] });
    expect((await send(url, 'k1', { files: [OTHER, PHOTO] })).status).toBe(422);
    expect((await send(url, 'k1', { files: [PHOTO, OTHER] })).headers.get('idempotent-replayed')).toBe('true');
    expect(stored).toHaveLength(1);
  });

  it('.none(), fields alone: another caption is 422, the same one replayed', async () => {
    const { url, stored } = await app(ex, [multer().none()]);
    await send(url, 'k1', { caption: 'holiday', files: [] });
    expect((await send(url, 'k1', { caption: 'work', files: [] })).status).toBe(422);
    expect((await send(url, 'k1', { caption: 'holiday', files: [] })).headers.get('idempotent-replayed')).toBe('true');
    expect(stored).toEqual(['holiday|']);
  });

  it('a disk file gone before the middleware reads it back: 500 body-consumed, nothing runs', async () => {
    const remove: RequestHandler = (req, _res, next) => {
      unlinkSync(req.file!.path);
      next();
    };
    const { url, stored } = await app(ex, [multer({ storage: storageOf('disk') }).single('photo'), remove]);
    const answer = await send(url, 'k1', { caption: 'holiday', files: [PHOTO] });
    expect(answer.status).toBe(500);
    expect(((await answer.json()) as { type: string }).type).toBe(CONSUMED);
    expect(stored).toEqual([]);
  });

  it('a storage engine that keeps neither buffer nor path (multer-s3 and the like): 500 body-consumed, nothing runs', async () => {
    const elsewhere: multer.StorageEngine = {
      _handleFile: (_req, file, cb) => {
        file.stream.resume();
        file.stream.on('end', () => cb(null, { size: 9, location: 'https://bucket/random' } as Partial<Express.Multer.File>));
      },
      _removeFile: (_req, _file, cb) => cb(null),
    };
    const { url, stored } = await app(ex, [multer({ storage: elsewhere }).single('photo')]);
    const answer = await send(url, 'k1', { caption: 'holiday', files: [PHOTO] });
    expect(answer.status).toBe(500);
    expect(((await answer.json()) as { type: string }).type).toBe(CONSUMED);
    expect(stored).toEqual([]);
  });

  it('files a parser left in a shape other than multer\'s (express-fileupload: data, md5): 500 body-consumed, nothing runs', async () => {
    const fileupload: RequestHandler = (req, _res, next) => {
      req.resume();
      req.on('end', () => {
        Object.assign(req, { body: { caption: 'holiday' }, files: { photo: { name: 'p.jpg', data: Buffer.from('AAA'), md5: 'x', size: 3 } } });
        next();
      });
    };
    const { url, stored } = await app(ex, [fileupload]);
    const answer = await send(url, 'k1', { caption: 'holiday', files: [PHOTO] });
    expect(answer.status).toBe(500);
    expect(((await answer.json()) as { type: string }).type).toBe(CONSUMED);
    expect(stored).toEqual([]);
  });
});

/**
 * multer's documented option for a body read before it (in 2.x, not in @types/multer
 * 2.3.0): the bytes the middleware kept, or the stream of a request it let through unread.
 */
const fromRawBody = {
  streamHandler: (req: IdempotentRequest, busboy: NodeJS.WritableStream) => (req.rawBody !== undefined ? busboy.end(req.rawBody) : req.pipe(busboy)),
};

describe.each([
  ['Express 5', express],
  ['Express 4', express4],
] as const)('multer mounted after the middleware, %s', (_, ex) => {
  it('as is: multer finds the stream read, a 500 from busboy ("Unexpected end of form"), nothing runs, no hang', async () => {
    const { url, stored } = await app(ex, [], [multer({ storage: multer.memoryStorage() }).single('photo')]);
    const answer = await send(url, 'k1', { caption: 'holiday', files: [PHOTO] });
    expect(answer.status).toBe(500);
    expect(await answer.text()).toBe('error: Unexpected end of form');
    expect(stored).toEqual([]);
  });

  it.each(['memory', 'disk'] as const)('fed req.rawBody (streamHandler), %s storage: a different upload is 422, the same one retried is replayed', async (storage) => {
    const options = { storage: storageOf(storage), ...fromRawBody } as multer.Options;
    const { url, stored } = await app(ex, [], [multer(options).single('photo')]);
    const first = await send(url, 'k1', { caption: 'holiday', files: [PHOTO] });
    expect(first.status).toBe(201);
    expect((await send(url, 'k1', { caption: 'holiday', files: [OTHER] })).status).toBe(422);
    const retry = await send(url, 'k1', { caption: 'holiday', files: [PHOTO] });
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(stored).toEqual([`holiday|${PHOTO.slice(0, 3).join(':')}:${PHOTO[3]}`]);
  });

  it('fed req.rawBody (streamHandler): an upload over maxBodyBytes (1 MiB by default) is 413, nothing runs', async () => {
    const { url, stored } = await app(ex, [], [multer({ storage: multer.memoryStorage(), ...fromRawBody } as multer.Options).single('photo')]);
    const answer = await send(url, 'k1', { caption: 'holiday', files: [['photo', 'p.jpg', 'image/jpeg', 'A'.repeat(1024 * 1024)]] });
    expect(answer.status).toBe(413);
    expect(stored).toEqual([]);
  });

  it('fed req.rawBody (streamHandler): an upload without a key, which the middleware lets through unread, is piped as usual', async () => {
    const { url, stored } = await app(ex, [], [multer({ storage: multer.memoryStorage(), ...fromRawBody } as multer.Options).single('photo')], false);
    const form = new FormData();
    form.append('caption', 'holiday');
    form.append('photo', new Blob(['AAA'], { type: 'image/jpeg' }), 'p.jpg');
    expect((await fetch(`${url}/photos`, { method: 'POST', body: form })).status).toBe(201);
    expect(stored).toEqual(['holiday|photo:p.jpg:image/jpeg:AAA']);
  });
});

it('the files change the fingerprint of the fields they came with: a key an upload claimed fields-only does not match its retry after the upgrade', () => {
  const request = { method: 'POST', path: '/photos', query: '', body: { caption: 'holiday' }, contentType: 'multipart/form-data; boundary=x' };
  const file = { fieldname: 'photo', originalname: 'p.jpg', encoding: '7bit', mimetype: 'image/jpeg', size: 3, sha256: 'x' };
  expect(payloadFingerprint({ ...request, files: [file] })).not.toBe(payloadFingerprint(request));
  expect(payloadFingerprint({ ...request, files: [] })).toBe(payloadFingerprint(request));
});
