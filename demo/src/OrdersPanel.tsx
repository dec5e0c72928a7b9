import { cartLabel, formatPrice, type Order } from '../shared/catalog.js';
import type { ServerView } from './server-view.js';

/** Same items as an earlier order: how a duplicate looks to the shop owner. */
function duplicateOf(order: Order, earlier: readonly Order[]): Order | undefined {
  const signature = (o: Order) => o.items.map((line) => `${line.sku}x${line.qty}`).join(',');
  return earlier.find((other) => signature(other) === signature(order));
}

export function OrdersPanel({ view, onReset }: { view: ServerView; onReset: () => void }) {
  const { orders, intents, duplicates, stats } = view;
  return (
    <section className="card" aria-labelledby="orders-title">
      <div className="card-head">
        <h2 id="orders-title">Stored on the server</h2>
        <button type="button" className="link" onClick={onReset}>
          Reset demo
        </button>
      </div>
      {/* Counted where the orders are stored: the verifier's audit below never sees a
          request without a key, so it cannot show what "Protection off" costs. */}
      <p className="audit" role="group" aria-label="Counted at the orders API">
        <span>
          orders <strong>{orders.length}</strong>
        </span>
        <span className={duplicates > 0 ? 'bad' : undefined}>
          duplicates <strong>{duplicates}</strong>
        </span>
      </p>
      {intents.length > 0 && (
        <table className="intents" aria-label="Orders per intent">
          <thead>
            <tr>
              <th scope="col">Cart</th>
              <th scope="col">Idempotency-Key</th>
              <th scope="col">Orders</th>
            </tr>
          </thead>
          <tbody>
            {intents.map((intent) => (
              <tr key={`${intent.cart}\0${intent.key ?? ''}`} className={intent.orders > 1 ? 'duplicate' : undefined}>
                <td>{intent.cart}</td>
                <td>{intent.key ? <code>{intent.key.slice(0, 8)}…</code> : <em>none (protection off)</em>}</td>
                <td>{intent.orders}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {stats && (
        <p className="audit" title="The verifier's audit, from /__submit-once/stats: requests with a key only">
          <span>verifier (keyed requests):</span>
          <span>
            executions <strong>{stats.totals.executions}</strong>
          </span>
          <span>
            replays <strong>{stats.totals.replays}</strong>
          </span>
          <span>
            conflicts <strong>{stats.totals.conflicts}</strong>
          </span>
          <a href="/__submit-once/stats" target="_blank" rel="noreferrer">
            audit JSON
          </a>
        </p>
      )}
      {orders.length === 0 && <p className="muted">No orders yet.</p>}
      <ul className="orders" aria-label="Orders">
        {orders.map((order, index) => {
          const twin = duplicateOf(order, orders.slice(0, index));
          return (
            <li key={order.id} className={twin ? 'duplicate' : undefined}>
              <span className="order-id">#{order.id}</span>
              <span className="order-items">{cartLabel(order.items)}</span>
              <span className="order-total">{formatPrice(order.total)}</span>
              <span className="order-key">{order.key ? <code>{order.key.slice(0, 8)}…</code> : <em>no key</em>}</span>
              {twin && <span className="badge">same cart as #{twin.id}</span>}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
