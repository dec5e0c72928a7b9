/** What the tabs (and the service worker) of one outbox database say to each other over a BroadcastChannel. */
import type { PendingSubmission } from '../events.js';
import type { StoredAnswer } from './outbox-item.js';

export type OutboxMessage =
  | { type: 'answered'; item: PendingSubmission; answer: StoredAnswer }
  | { type: 'given-up'; item: PendingSubmission; reason: 'cancelled' | 'expired' }
  | { type: 'changed' }
  /** A service worker recorded answers or give-ups: a page reports them. */
  | { type: 'recorded' };
