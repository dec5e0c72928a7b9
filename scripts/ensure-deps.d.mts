/** Why `npm ci` must run before the tests or the demo, or undefined when node_modules matches the lock. */
export function installReason(root: string): string | undefined;
