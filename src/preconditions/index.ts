export { createIfMatchFetch } from './if-match-fetch.js';
export type { FetchLike, IfMatchFetch, IfMatchOptions } from './if-match-fetch.js';
export { installIfMatch } from './install-if-match.js';
export type { IfMatchInstall } from './install-if-match.js';
export type { Versions } from './versions.js';
export { PreconditionFailedError } from './precondition-failed-error.js';
