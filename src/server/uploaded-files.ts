/**
 * The files a multipart parser mounted before the middleware (multer) took out of the
 * body: it leaves only the text fields in `req.body`, the files in `req.file` or
 * `req.files`. Fingerprinted from `req.body` alone, two uploads of different files with
 * one caption under one key were one payload: the second was answered with the first
 * one's replay and never ran. So the files are part of the payload, by what a handler
 * reads of them: field, filename, transfer encoding, type, size and bytes. Their order is
 * the parser's (the order they came in), and a retry with a new boundary is the same upload.
 *
 * Only multer's shape is read: a file with those names and its bytes in `buffer` (memory
 * storage) or on disk at `path` (disk storage: read back and hashed, as the random file
 * name says nothing). Files in any other shape (another parser's, a storage engine that
 * sends them elsewhere) cannot be told apart, so such a request is refused, not taken
 * for its text fields.
 */
import { createHash, hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { readProperty } from './read-property.js';

/** One uploaded file as the payload fingerprint takes it: what a handler reads of it, its bytes by their sha256. */
export interface UploadedFileDigest {
  readonly fieldname: string;
  readonly originalname: string;
  readonly encoding: string;
  readonly mimetype: string;
  readonly size: number;
  /** The sha256 of the file's bytes, base64url. */
  readonly sha256: string;
}

/** A file in multer's shape: its bytes in memory or on disk. */
interface MulterFile {
  readonly fieldname: string;
  readonly originalname: string;
  readonly encoding: string;
  readonly mimetype: string;
  readonly size: number;
  readonly buffer?: unknown;
  readonly path?: unknown;
}

/** Why the files cannot be fingerprinted: the detail of the 500 `body-consumed` answer. */
export interface UnreadableUpload {
  readonly refused: string;
}

type UploadRequest = IncomingMessage & { file?: unknown; files?: unknown };

const MULTIPART = /^multipart\//i;

/**
 * The files on a multipart request whose body a parser already read (`req.body` is its
 * fields): their digests (a promise when some are on disk), an empty list when there are
 * none, or why they cannot be read. Undefined for other requests, in one header read.
 */
export function uploadedFilesOf(req: IncomingMessage): UploadedFileDigest[] | Promise<UploadedFileDigest[] | UnreadableUpload> | UnreadableUpload | undefined {
  const contentType = readProperty<IncomingMessage['headers']>(req, 'headers')['content-type'];
  if (contentType === undefined || !MULTIPART.test(contentType)) return undefined;
  const { file, files } = req as UploadRequest;
  const found: unknown[] = [];
  if (file !== undefined) found.push(file);
  if (Array.isArray(files)) found.push(...(files as unknown[]));
  else if (typeof files === 'object' && files !== null) {
    // multer's `.fields()`: arrays of files by field name, the names in the order they came.
    for (const list of Object.values(files)) {
      if (!Array.isArray(list)) return unknownShape;
      found.push(...(list as unknown[]));
    }
  } else if (files !== undefined) return unknownShape;
  const onDisk: Promise<UploadedFileDigest>[] = [];
  const digests: (UploadedFileDigest | undefined)[] = [];
  for (const candidate of found) {
    if (!isMulterFile(candidate)) return unknownShape;
    if (Buffer.isBuffer(candidate.buffer)) digests.push(digestOf(candidate, hash('sha256', candidate.buffer, 'base64url')));
    else if (typeof candidate.path === 'string') {
      const at = digests.push(undefined) - 1;
      onDisk.push(hashFile(candidate.path).then((sha256) => (digests[at] = digestOf(candidate, sha256))));
    } else return unknownShape;
  }
  if (onDisk.length === 0) return digests as UploadedFileDigest[];
  return Promise.all(onDisk).then(
    () => digests as UploadedFileDigest[],
    () => ({ refused: 'An uploaded file in req.file(s) could not be read back from its path; the request was not run.' }),
  );
}

const unknownShape: UnreadableUpload = {
  refused:
    'The multipart body was parsed before the idempotency middleware and its files left where the middleware cannot read them (only multer with memory or disk storage is read); the request was not run. Mount the multipart parser after the middleware and feed it req.rawBody.',
};

function isMulterFile(value: unknown): value is MulterFile {
  if (typeof value !== 'object' || value === null) return false;
  const file = value as Record<string, unknown>;
  return (
    typeof file.fieldname === 'string' &&
    typeof file.originalname === 'string' &&
    typeof file.encoding === 'string' &&
    typeof file.mimetype === 'string' &&
    typeof file.size === 'number'
  );
}

function digestOf(file: MulterFile, sha256: string): UploadedFileDigest {
  const { fieldname, originalname, encoding, mimetype, size } = file;
  return { fieldname, originalname, encoding, mimetype, size, sha256 };
}

/** Streamed, not read whole: an upload on disk may be larger than memory should hold. */
function hashFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sha = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => sha.update(chunk))
      .on('end', () => resolve(sha.digest('base64url')))
      .on('error', reject);
  });
}
