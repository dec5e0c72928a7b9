import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileStore } from '../../src/server/index.js';
import { claimOf } from './conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'submit-once-file-large-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** V8's longest string (0x1fffffe8 characters on 64-bit): a log any larger cannot be read, nor a snapshot built, as one string. */
const MAX_STRING = 0x1fff_ffe8;

describe('file store, a log larger than one string can hold', () => {
  // About a day of a busy service's completed keys (a few hundred bytes to kilobytes of response each) reaches this.
  it('opens it and keeps every completed key, then writes the compacted file', async () => {
    const path = join(dir, 'large.jsonl');
    const body = Buffer.alloc(48 * 1024, 7);
    const encoded = body.toString('base64');
    const expiresAt = Date.now() + 3_600_000;
    const fd = openSync(path, 'w');
    let keys = 0;
    try {
      for (let size = 0; size <= MAX_STRING + 4 * 1024 * 1024; keys++) {
        size += writeSync(fd, `{"o":"r","k":"order-${keys}","v":{"s":"d","f":"fp","n":1,"e":${expiresAt},"r":{"s":201,"h":{},"b":"${encoded}"}}}\n`);
      }
    } finally {
      closeSync(fd);
    }
    // Before: 'Cannot create a string longer than 0x1fffffe8 characters', and the process could not start again.
    const store = fileStore(path, { sweepIntervalMs: 0 });
    try {
      // Every key survived the load, and the compacted file written at open holds them all (before: the same error, joining its lines).
      expect(statSync(path).size).toBeGreaterThan(MAX_STRING);
      for (const key of [0, Math.floor(keys / 2), keys - 1]) {
        const replay = await store.claim(claimOf(`order-${key}`, Date.now()));
        expect(replay.status).toBe('completed');
        if (replay.status === 'completed') expect(Buffer.from(replay.response.body).equals(body)).toBe(true);
      }
    } finally {
      await store.close();
    }
  }, 120_000);
});
