import { CATALOG, formatPrice } from '../shared/catalog.js';

export function Products({ onAdd }: { onAdd: (sku: string) => void }) {
  return (
    <section className="card" aria-labelledby="products-title">
      <h2 id="products-title">Products</h2>
      <ul className="products">
        {CATALOG.map((product) => (
          <li key={product.sku} className="product">
            <span className="tile" aria-hidden="true" style={{ background: product.colour }}>
              {product.name.charAt(0)}
            </span>
            <span className="product-name">{product.name}</span>
            <span className="product-price">{formatPrice(product.price)}</span>
            <button type="button" onClick={() => onAdd(product.sku)} aria-label={`Add ${product.name} to cart`}>
              Add
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
