/** The orders the outbox still holds ("Offline"): shown until their replay is answered. */
import { usePendingSubmissions } from '../../src/react/index.js';
import { outbox } from './http.js';

export function PendingOrders() {
  const pending = usePendingSubmissions(outbox);
  if (pending.length === 0) return null;
  return (
    <div className="pending" role="region" aria-label="Waiting to be sent">
      <p>
        {pending.length} order{pending.length === 1 ? '' : 's'} waiting to be sent
      </p>
      <ul aria-label="Waiting orders">
        {pending.map((item) => (
          <li key={item.id}>
            Idempotency-Key <code>{item.key}</code>
            {item.attempts > 0 ? ` · ${item.attempts} replay${item.attempts === 1 ? '' : 's'} so far` : ''}
            <button type="button" className="link" onClick={() => void outbox.cancel(item.id)}>
              Cancel
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}
