/**
 * The wire protocol shared by the client and the verifier: pure functions and constants,
 * no DOM and no Node import, so both ends (and a browser bundle) can import it.
 */
export { canonicalJson, MAX_JSON_DEPTH } from './canonical-json.js';
export { canonicalBodyText } from './canonical-body.js';
export { canonicalForm, isFormContentType } from './canonical-form.js';
export { losesDigits } from './lossy-numbers.js';
export { PayloadTooDeepError, isPayloadTooDeepError } from './payload-too-deep-error.js';
export { formatKey, isValidKey, MAX_KEY_LENGTH, parseKey } from './key-grammar.js';
export type { KeyFormat, KeyParseResult } from './key-grammar.js';
export { HEADER_NAME, KEY_HEADER, KEYED_METHODS, REPLAYED_HEADER } from './headers.js';
export { PROBLEM_BASE, PROBLEM_STATUS, PROBLEM_TITLE, problemCodeOf, problemType } from './problems.js';
export type { ProblemCode } from './problems.js';
