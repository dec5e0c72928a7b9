export { createIfMatchFetch } from './if-match-fetch.js';
export type { IfMatchFetch, IfMatchOptions, Versions } from './if-match-fetch.js';
export { PreconditionFailedError } from './precondition-failed-error.js';
