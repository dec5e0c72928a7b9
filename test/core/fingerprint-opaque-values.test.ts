/**
 * Values JSON cannot spell were all `{}` in canonical JSON (Map, Set, Blob/File, ArrayBuffer,
 * URLSearchParams, FormData, RegExp, class instances with only private fields), so two
 * different intents whose bodies held them had one fingerprint. With the hook and the guards
 * the default intent's body is the action's input (`actionIntent(name, input)`):
 * `{ photo: File, caption }` for two different photos was one intent. Within the settle
 * window the second upload was handed the first's answer and never ran (a silent drop);
 * after an ambiguous first upload the second reused its key (422 KeyReusedError).
 * The client now fingerprints them by content (src/core/fingerprint-values.ts), or refuses
 * what it cannot read; plain JSON bodies keep their fingerprints (pinned below).
 */
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { fingerprint, fingerprintOf } from '../../src/core/fingerprint.js';
import { InvalidRequestError } from '../../src/core/errors.js';
import { createSubmitter } from '../../src/core/submitter.js';
import { memoryStore } from '../../src/core/store.js';
import { actionIntent } from '../../src/ui/submission-observer.js';

describe('values canonical JSON writes as {}', () => {
  const pairs: [string, unknown, unknown][] = [
    ['a nested File', { photo: new File(['A'], 'a.jpg'), caption: 'x' }, { photo: new File(['B'], 'b.jpg'), caption: 'x' }],
    ['a Map', { items: new Map([['sku-A', 1]]) }, { items: new Map([['sku-B', 9]]) }],
    ['a Set', { tags: new Set(['a']) }, { tags: new Set(['b']) }],
    ['a nested ArrayBuffer', { data: new Uint8Array([1]).buffer }, { data: new Uint8Array([2]).buffer }],
    ['a nested URLSearchParams', { q: new URLSearchParams('a=1') }, { q: new URLSearchParams('a=2') }],
  ];
  for (const [name, a, b] of pairs) {
    it(`${name}: two different hook inputs are two intents`, async () => {
      expect(await fingerprint(actionIntent('upload', a))).not.toBe(await fingerprint(actionIntent('upload', b)));
    });
  }

  it('at the origin: the second, different upload inside the settle window runs (it is handed the first answer today)', async () => {
    const submitter = createSubmitter({ store: memoryStore(), locks: null });
    const uploads: string[] = [];
    const upload = (photo: File) =>
      submitter.submit({
        intent: actionIntent('upload', { photo, caption: 'x' }),
        send: async () => {
          uploads.push(await photo.text());
          return `stored ${photo.name}`;
        },
      });
    expect(await upload(new File(['A'], 'a.jpg'))).toBe('stored a.jpg');
    expect(await upload(new File(['B'], 'b.jpg'))).toBe('stored b.jpg');
    expect(uploads).toEqual(['A', 'B']);
  });
});

const print = (input: unknown) => fingerprint(actionIntent('upload', input));

describe('the same content is the same intent (a retry after a reload finds its key)', () => {
  const same: [string, () => unknown][] = [
    ['a nested File', () => ({ photo: new File(['A'], 'a.jpg', { type: 'image/jpeg' }), caption: 'x' })],
    ['a Map', () => ({ items: new Map([['b', 2], ['a', 1]]) })],
    ['a nested ArrayBuffer', () => ({ data: new Uint8Array([1, 2]).buffer })],
    ['a nested FormData with a file', () => {
      const form = new FormData();
      form.append('photo', new File(['A'], 'a.jpg'));
      form.append('tag', 'x');
      return { form };
    }],
  ];
  for (const [name, make] of same) {
    it(name, async () => {
      expect(await print(make())).toBe(await print(make()));
    });
  }

  it('Map and Set order does not matter, as an object\'s member order does not', async () => {
    expect(await print({ m: new Map([['a', 1], ['b', 2]]) })).toBe(await print({ m: new Map([['b', 2], ['a', 1]]) }));
    expect(await print({ s: new Set(['a', 'b']) })).toBe(await print({ s: new Set(['b', 'a']) }));
    expect(await print({ s: new Set([[1, 2], [1, 3]]) })).toBe(await print({ s: new Set([[1, 3], [1, 2]]) }));
    expect(await print({ m: new Map([['a', 1]]) })).not.toBe(await print({ m: new Map([['a', 2]]) }));
  });
});

describe('different content is a different intent', () => {
  const pairs: [string, unknown, unknown][] = [
    ['a File name', { photo: new File(['A'], 'a.jpg') }, { photo: new File(['A'], 'b.jpg') }],
    ['a Blob type', { photo: new Blob(['A'], { type: 'image/png' }) }, { photo: new Blob(['A'], { type: 'image/jpeg' }) }],
    ['a DataView', { data: new DataView(new Uint8Array([1]).buffer) }, { data: new DataView(new Uint8Array([2]).buffer) }],
    ['an empty typed array and an empty object', { data: new Uint8Array(0) }, { data: {} }],
    ['a Map and a plain object spelling its tag', { a: new Map(), b: new Set() }, { a: { '\u0000': 'map', entries: [] }, b: new Set() }],
    ['a FormData field', { form: formOf('x') }, { form: formOf('y') }],
    ['a member named __proto__ beside a Map', Object.assign(JSON.parse('{"__proto__":{"a":1}}') as object, { m: new Map() }), { m: new Map() }],
    ['a top-level Map', new Map([['a', 1]]), new Map([['a', 2]])],
    ['a Map inside an array', [new Map([['a', 1]])], [new Map([['a', 2]])]],
  ];
  for (const [name, a, b] of pairs) {
    it(name, async () => {
      expect(await print(a)).not.toBe(await print(b));
    });
  }

  it('after an ambiguous first upload, a different photo is sent under a new key', async () => {
    const submitter = createSubmitter({ store: memoryStore(), locks: null, retry: false });
    const keys: string[] = [];
    const upload = (photo: File, status: number) =>
      submitter.submit({
        intent: actionIntent('upload', { photo, caption: 'x' }),
        send: async ({ key }) => {
          keys.push(key);
          return new Response(null, { status });
        },
      });
    expect((await upload(new File(['A'], 'a.jpg'), 503)).status).toBe(503);
    expect((await upload(new File(['B'], 'b.jpg'), 201)).status).toBe(201);
    expect(keys).toHaveLength(2);
    expect(keys[1]).not.toBe(keys[0]);
  });
});

describe('values whose content the fingerprint cannot read', () => {
  class Money {
    #cents: number;
    constructor(cents: number) {
      this.#cents = cents;
    }
    get cents() {
      return this.#cents;
    }
  }
  const refused: [string, unknown, RegExp][] = [
    ['a RegExp', { rule: { match: /a/ } }, /body\.rule\.match \(RegExp\) has nothing JSON can write/],
    ['a class instance with private state', { items: [{ price: new Money(1) }] }, /body\.items\[0\]\.price \(Money\)/],
    ['a WeakMap', { cache: new WeakMap() }, /body\.cache \(WeakMap\)/],
    ['a Promise', { later: Promise.resolve(1) }, /body\.later \(Promise\)/],
    ['one inside a Map', { m: new Map([['k', /a/]]) }, /body\.m\.values\(\)\[0\] \(RegExp\)/],
  ];
  for (const [name, input, message] of refused) {
    it(`${name} is refused with an InvalidRequestError naming its path`, async () => {
      const error = await print(input).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).toMatch(/explicit `intent`/);
    });
  }

  it('a submission of one is refused, nothing sent', async () => {
    const submitter = createSubmitter({ store: memoryStore(), locks: null });
    let sent = 0;
    const error = await submitter
      .submit({ intent: actionIntent('pay', { amount: new Money(5) }), send: async () => ++sent })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(sent).toBe(0);
  });

  it('a Map holding itself is refused, not a hang or a stack overflow', async () => {
    const m = new Map<string, unknown>();
    m.set('self', m);
    await expect(print({ m })).rejects.toThrow(InvalidRequestError);
  });

  it('fingerprintOf (synchronous) refuses a nested Blob it cannot read with an InvalidRequestError', () => {
    expect(() => fingerprintOf(actionIntent('upload', { photo: new Blob(['A']) }))).toThrow(InvalidRequestError);
  });
});

describe('plain JSON bodies keep their fingerprints (stored keys are still found)', () => {
  // Printed by the code before this change.
  const pinned: [string, unknown, string][] = [
    ['plain', { sku: 'A', qty: 1, tags: ['x', 'y'] }, 'v1:d83004287b553720'],
    ['empty objects', { filters: {}, list: [{}, { a: {} }], note: 'a {} in text' }, 'v1:2c38d4ef95a8ca68'],
    ['a Date and a URL', { at: new Date(0), link: new URL('https://shop.test/a') }, 'v1:a6ad77adc020095e'],
    ['a nested typed array with elements', { data: new Uint8Array([1, 2]) }, 'v1:91e5428a9a1edade'],
    ['a class instance with enumerable fields', { item: new (class Item { sku = 'A'; qty = 2; })() }, 'v1:67cd6933bb8df13e'],
    ['an empty plain object', {}, 'v1:cb2386d76cee21d0'],
    ['a null-prototype empty object', { a: Object.create(null) }, 'v1:a0969236f129003c'],
    ['plain objects of another realm', { a: vm.runInNewContext('({ b: {} })') }, 'v1:f403601c495e0cd9'],
  ];
  for (const [name, body, printed] of pinned) {
    it(name, async () => {
      expect(await print(body)).toBe(printed);
    });
  }
});

function formOf(value: string): FormData {
  const form = new FormData();
  form.append('field', value);
  return form;
}
