import type { ReactNode } from 'react';
import { CATALOG, formatPrice } from '../shared/catalog.js';
import { cartTotal, type Cart } from './cart.js';

interface CartPanelProps {
  cart: Cart;
  onChange: (sku: string, delta: number) => void;
  onClear: () => void;
  /** The order button and its message. */
  children: ReactNode;
}

export function CartPanel({ cart, onChange, onClear, children }: CartPanelProps) {
  const lines = CATALOG.filter((product) => (cart[product.sku] ?? 0) > 0);
  return (
    <section className="card" aria-labelledby="cart-title">
      <div className="card-head">
        <h2 id="cart-title">Cart</h2>
        {lines.length > 0 && (
          <button type="button" className="link" onClick={onClear}>
            Empty cart
          </button>
        )}
      </div>
      {lines.length === 0 ? (
        <p className="muted">Your cart is empty: add a product.</p>
      ) : (
        <ul className="cart" aria-label="Cart">
          {lines.map((product) => {
            const qty = cart[product.sku] ?? 0;
            return (
              <li key={product.sku}>
                <span className="cart-name">
                  <span className="tile small" aria-hidden="true" style={{ background: product.colour }}>
                    {product.name.charAt(0)}
                  </span>
                  {product.name}
                </span>
                <span className="qty">
                  <button type="button" aria-label={`Remove one ${product.name}`} onClick={() => onChange(product.sku, -1)}>
                    −
                  </button>
                  <span className="qty-value" aria-label={`${product.name} quantity`}>{qty}</span>
                  <button type="button" aria-label={`Add one ${product.name}`} onClick={() => onChange(product.sku, 1)}>
                    +
                  </button>
                </span>
                <span className="line-total">{formatPrice(product.price * qty)}</span>
              </li>
            );
          })}
        </ul>
      )}
      <p className="total">
        Total <strong>{formatPrice(cartTotal(cart))}</strong>
      </p>
      {children}
    </section>
  );
}
