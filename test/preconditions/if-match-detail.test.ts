// What checkIfMatch's 412 says. An If-Match that is not a list of entity tags (`1`, the
// version without its quotes; `"1` cut off; `W/1`) got "The resource was changed since you
// read it" with the very version it named as current: false, and a UI shows "changed by
// someone else". Some were even taken as a match (`w/"1"`, `"1"x`: the tag found inside).
// A weak tag (never a match under If-Match's strong comparison) got the same false detail.
// The status and problem type stay (412 precondition-failed: RFC 9110 gives a false If-Match
// no other answer, and clients handle 412); the detail says what was wrong.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { checkIfMatch, createVerifier, etagOf, ifMatchHolds, type Verifier } from '../../src/server/index.js';
import { post } from '../helpers/post.js';

let runs = 0;
let verifier: Verifier;
let url: string;

beforeAll(async () => {
  verifier = createVerifier({
    principal: false,
    handler: (req, res) => {
      if (!checkIfMatch(req, res, { etag: etagOf(1), representation: { version: 1 } })) return;
      runs++;
      res.end('updated');
    },
  });
  url = await verifier.listen(0);
});
afterAll(() => verifier.close());
beforeEach(() => {
  runs = 0;
});

const patch = (ifMatch: string) => post(`${url}/orders/1`, { method: 'PATCH', key: crypto.randomUUID(), body: {}, headers: { 'If-Match': ifMatch } });

describe('an If-Match that is not a list of entity tags', () => {
  it.each(['1', '"1', 'W/1', 'w/"1"', '"1"x', '*, "1"', ','])('If-Match: %s gets 412 saying so, not "changed since you read it"; nothing runs', async (value) => {
    const answer = await patch(value);
    expect(runs).toBe(0);
    expect(answer.status).toBe(412);
    const problem = answer.json<{ type: string; detail: string; etag: string }>();
    expect(problem.type).toBe('https://submit-once.dev/problems/precondition-failed');
    // Before: 'The resource was changed since you read it; ...' (and for w/"1", "1"x: 200, run).
    expect(problem.detail).toBe(`If-Match is not a list of entity tags (a tag is quoted, as "3"): ${value}`);
    expect(problem.etag).toBe('"1"');
  });

  it('ifMatchHolds is false for it, even when the current tag is inside', () => {
    expect(ifMatchHolds('w/"1"', '"1"')).toBe(false);
    expect(ifMatchHolds('"1"x', '"1"')).toBe(false);
  });
});

describe('a weak entity tag in If-Match', () => {
  it.each(['W/"1"', '"0", W/"1"'])('If-Match: %s gets 412 saying the tag is weak; nothing runs', async (value) => {
    const answer = await patch(value);
    expect(runs).toBe(0);
    expect(answer.status).toBe(412);
    // Before: 'The resource was changed since you read it; ...', with etag "1", the version named.
    expect(answer.json()).toMatchObject({
      type: 'https://submit-once.dev/problems/precondition-failed',
      detail: 'If-Match names a weak entity tag (W/"1"), which never matches (strong comparison): send the strong ETag of the version you read.',
      etag: '"1"',
    });
  });
});

describe('well-formed If-Match (controls)', () => {
  it.each(['"1"', '*', '"0" ,, "1"', ' "0","1" '])('If-Match: %s matches the current "1"', async (value) => {
    expect((await patch(value)).status).toBe(200);
    expect(runs).toBe(1);
  });

  it('a stale strong tag still gets "changed since you read it"', async () => {
    const answer = await patch('"0"');
    expect(answer.status).toBe(412);
    expect(answer.json()).toMatchObject({ detail: 'The resource was changed since you read it; here is its current version.', etag: '"1"', current: { version: 1 } });
    expect(runs).toBe(0);
  });
});
