/**
 * The cart, kept in localStorage so a reload brings the same cart back: the same cart is
 * the same intent, and submit-once finds its key again.
 */
import { useCallback, useEffect, useState } from 'react';
import { CATALOG, productBySku, type OrderLine, type OrderRequest } from '../shared/catalog.js';

const STORAGE_KEY = 'submit-once-demo:cart';

export type Cart = Readonly<Record<string, number>>;

function load(): Cart {
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '{}');
    if (typeof parsed !== 'object' || parsed === null) return {};
    return Object.fromEntries(
      Object.entries(parsed).filter(([sku, qty]) => productBySku(sku) !== undefined && Number.isInteger(qty) && (qty as number) > 0),
    ) as Cart;
  } catch {
    return {};
  }
}

export function useCart() {
  const [cart, setCart] = useState<Cart>(load);
  useEffect(() => {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(cart));
  }, [cart]);
  const add = useCallback((sku: string, delta: number) => {
    setCart((current) => {
      const qty = (current[sku] ?? 0) + delta;
      const { [sku]: _dropped, ...rest } = current;
      return qty > 0 ? { ...rest, [sku]: qty } : rest;
    });
  }, []);
  const clear = useCallback(() => setCart({}), []);
  return { cart, add, clear };
}

/** The payload, in catalog order, so the same cart always serialises the same way. */
export function orderRequest(cart: Cart): OrderRequest {
  const items: OrderLine[] = CATALOG.filter((product) => (cart[product.sku] ?? 0) > 0).map((product) => ({
    sku: product.sku,
    qty: cart[product.sku] ?? 0,
  }));
  return { items };
}

export function cartTotal(cart: Cart): number {
  return Object.entries(cart).reduce((sum, [sku, qty]) => sum + (productBySku(sku)?.price ?? 0) * qty, 0);
}
