/**
 * "Edit order": the delivery note of a stored order, saved over the version this tab read
 * (`If-Match`). Open it in two tabs and save in both: the second is told the order was
 * changed by someone else, and shown what is there now, instead of overwriting it.
 */
import { useState } from 'react';
import { createIdempotentFetch } from '../../src/fetch/index.js';
import { createIfMatchFetch, PreconditionFailedError } from '../../src/preconditions/index.js';
import type { Order } from '../shared/catalog.js';

interface DeliveryNote {
  orderId: number;
  note: string;
  version: number;
}

const notesApi = createIfMatchFetch(createIdempotentFetch());

type Message = { kind: 'success' | 'error'; text: string } | undefined;

export function EditOrderPanel({ orders }: { orders: readonly Order[] }) {
  const [loaded, setLoaded] = useState<DeliveryNote | undefined>(undefined);
  const [draft, setDraft] = useState('');
  const [message, setMessage] = useState<Message>(undefined);
  const latest = orders.at(-1);

  const load = async (orderId: number) => {
    const response = await notesApi(`/api/orders/${orderId}/delivery`);
    const note = (await response.json()) as DeliveryNote;
    setLoaded(note);
    setDraft(note.note);
    setMessage(undefined);
  };

  const save = async () => {
    if (!loaded) return;
    try {
      const response = await notesApi(`/api/orders/${loaded.orderId}/delivery`, {
        method: 'PATCH',
        body: JSON.stringify({ note: draft }),
        headers: { 'content-type': 'application/json' },
      });
      const note = (await response.json()) as DeliveryNote;
      setLoaded(note);
      setMessage({ kind: 'success', text: `Saved (version ${note.version}).` });
    } catch (error) {
      if (!(error instanceof PreconditionFailedError)) throw error;
      const current = error.current as DeliveryNote | undefined;
      setMessage({
        kind: 'error',
        text: `Changed by someone else: the note is now "${current?.note ?? '?'}" (version ${current?.version ?? '?'}). Load it again to edit that.`,
      });
    }
  };

  return (
    <section className="card" aria-labelledby="edit-title">
      <h2 id="edit-title">Edit order</h2>
      {latest === undefined ? (
        <p className="muted">Place an order first.</p>
      ) : (
        <>
          <button type="button" onClick={() => void load(latest.id)}>
            Load order #{latest.id}
          </button>
          {loaded && (
            <form
              onSubmit={(event) => {
                event.preventDefault();
                void save();
              }}
            >
              <label>
                Delivery note for order #{loaded.orderId} (version {loaded.version})
                <input value={draft} onChange={(event) => setDraft(event.target.value)} />
              </label>
              <button type="submit">Save note</button>
            </form>
          )}
          {/* Not role="status": the order button's message is the page's one status. */}
          <p aria-live="polite" data-testid="edit-result" className={`message ${message?.kind ?? 'idle'}`}>
            {message?.text ?? ' '}
          </p>
        </>
      )}
    </section>
  );
}
