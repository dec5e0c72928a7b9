/**
 * Token mode in the page: the hook's engine takes each new intent's key from the server
 * (`serverTokens`, one held ahead from page load), instead of minting a UUID.
 */
import { createSubmitter } from '../../src/index.js';
import { serverTokens } from '../../src/tokens/index.js';
import { TOKEN_PATH } from '../shared/token-mode.js';
import { eventLog } from './event-log.js';

export { TOKEN_ORDERS_PATH } from '../shared/token-mode.js';

export const tokenEngine = createSubmitter({
  tokenProvider: serverTokens({ url: TOKEN_PATH }),
  onEvent: (event) => {
    if (event.type === 'key-created' || event.type === 'key-reused' || event.type === 'joined') eventLog.record(event);
  },
});
