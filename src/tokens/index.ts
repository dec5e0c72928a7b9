export { serverTokens } from './server-tokens.js';
export type { ServerTokensOptions, TokenSource } from './server-tokens.js';
export { TokenUnavailableError } from './token-unavailable-error.js';
