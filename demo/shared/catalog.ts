/** The shop's products and the order payload, shared by the page and the API. */

export interface Product {
  readonly sku: string;
  readonly name: string;
  /** Price in cents: money is never a float. */
  readonly price: number;
  /** Tile colour in the page. */
  readonly colour: string;
}

export const CATALOG: readonly Product[] = [
  { sku: 'mug', name: 'Enamel mug', price: 1400, colour: '#e07a5f' },
  { sku: 'tee', name: 'Cotton T-shirt', price: 2500, colour: '#3d5a80' },
  { sku: 'cap', name: 'Baseball cap', price: 1900, colour: '#81b29a' },
  { sku: 'sticker', name: 'Sticker pack', price: 500, colour: '#f2cc8f' },
];

export interface OrderLine {
  readonly sku: string;
  readonly qty: number;
}

/** What the page posts: only SKUs and quantities, so the same cart is the same payload. */
export interface OrderRequest {
  readonly items: readonly OrderLine[];
}

export interface Order {
  readonly id: number;
  readonly items: readonly (OrderLine & { readonly name: string; readonly price: number })[];
  readonly total: number;
  /** The idempotency key it arrived with; null when protection was off. */
  readonly key: string | null;
  readonly createdAt: string;
}

/**
 * Orders the orders API created for one intent: one cart with one key, or one cart with no
 * key at all (protection off), since a key-less request carries nothing else to tell
 * intents apart. Counted where the order is stored, not in the SDK's or the verifier's
 * bookkeeping (the verifier's audit never sees a key-less request).
 */
export interface IntentCount {
  /** The cart as a person reads it, e.g. "1× Enamel mug, 1× Baseball cap". */
  readonly cart: string;
  readonly key: string | null;
  readonly orders: number;
}

/** `GET /api/orders`: what the orders API stored and, per intent, how often. */
export interface OrdersView {
  readonly orders: readonly Order[];
  readonly intents: readonly IntentCount[];
  /** Orders beyond the first of their intent: what a user would be charged twice for. */
  readonly duplicates: number;
}

/** Faults the server applies to `POST /api/orders`; "offline" lives in the page only. */
export interface Faults {
  /** Store the order, then drop the connection before the response leaves. */
  readonly loseResponse: boolean;
  /** Wait this long before handling an order. */
  readonly slow: boolean;
  /** Answer 503 to the first attempt of each key (the order is not stored). */
  readonly fail503: boolean;
}

export const NO_FAULTS: Faults = { loseResponse: false, slow: false, fail503: false };

export const SLOW_SERVER_MS = 1500;

export function productBySku(sku: string): Product | undefined {
  return CATALOG.find((product) => product.sku === sku);
}

/** The cart of an order as the panel shows it. */
export function cartLabel(items: readonly (OrderLine & { readonly name: string })[]): string {
  return items.map((line) => `${line.qty}× ${line.name}`).join(', ');
}

export function formatPrice(cents: number): string {
  return `€${(cents / 100).toFixed(2)}`;
}
