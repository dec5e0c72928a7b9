/** The outbox database's names and version (public: a test or a tool may read the database itself). */
export const OUTBOX_DATABASE = 'submit-once-outbox';
/** Bump with a new branch in `upgrade` (outbox-db.ts): held requests must survive an SDK update. */
export const OUTBOX_VERSION = 1;
export const ITEMS_STORE = 'items';
