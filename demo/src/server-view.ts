/**
 * What the server really stored, read past the page's own HTTP clients (so "Offline" does
 * not hide it): the orders with their counts per intent, and the verifier's audit.
 */
import { useEffect, useState } from 'react';
import type { AuditSnapshot } from '../../src/server/index.js';
import type { IntentCount, Order, OrdersView } from '../shared/catalog.js';

const POLL_MS = 1000;

export interface ServerView {
  readonly orders: readonly Order[];
  /** Counted by the orders API as it stores each order (see `IntentCount`). */
  readonly intents: readonly IntentCount[];
  readonly duplicates: number;
  readonly stats: AuditSnapshot | undefined;
}

const listeners = new Set<() => void>();

/** Asks every mounted view to read the server again now (after a submit). */
export function refreshServerView(): void {
  for (const listener of listeners) listener();
}

export function useServerView(): ServerView {
  const [view, setView] = useState<ServerView>({ orders: [], intents: [], duplicates: 0, stats: undefined });

  useEffect(() => {
    let live = true;
    let reading = false;
    let again = false;
    const read = async (): Promise<void> => {
      // A refresh asked for mid-read must still happen: it may be the one that sees the new order.
      if (reading) {
        again = true;
        return;
      }
      reading = true;
      try {
        const [orders, stats] = await Promise.all([
          fetch('/api/orders').then((r) => r.json() as Promise<OrdersView>),
          fetch('/__submit-once/stats').then((r) => r.json() as Promise<AuditSnapshot>),
        ]);
        if (live) setView({ ...orders, stats });
      } catch {
        // The demo server restarted or is gone: the next tick tries again.
      } finally {
        reading = false;
        if (again && live) {
          again = false;
          void read();
        }
      }
    };
    void read();
    const timer = setInterval(() => void read(), POLL_MS);
    listeners.add(read);
    return () => {
      live = false;
      clearInterval(timer);
      listeners.delete(read);
    };
  }, []);

  return view;
}
