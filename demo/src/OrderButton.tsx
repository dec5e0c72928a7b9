/**
 * "Place order", two ways: through submit-once (the hook's guarded button, the axios
 * adapter's key and retries) or, with "Protection off", a plain onClick that posts each click.
 */
import { useState } from 'react';
import { isAxiosError } from 'axios';
import type { ActionContext } from '../../src/react/index.js';
import { isSubmitOnceError } from '../../src/index.js';
import { useIdempotentSubmit } from '../../src/react/index.js';
import { formatPrice, type Order, type OrderRequest } from '../shared/catalog.js';
import { orderRequest, type Cart } from './cart.js';
import { eventLog } from './event-log.js';
import { faultsSettled, intentEngine, plainApi, shopApi } from './http.js';
import { refreshServerView } from './server-view.js';

interface OrderButtonProps {
  cart: Cart;
}

interface PlacedOrder {
  order: Order;
  /** The server answered from its store: this attempt did not run the order again. */
  replayed: boolean;
}

export function ProtectedOrderButton({ cart }: OrderButtonProps) {
  const { buttonProps, status, data, error, key } = useIdempotentSubmit(placeOrder, {
    intent: 'place-order',
    input: orderRequest(cart),
    submitter: intentEngine,
    // The axios adapter below retries each attempt with this key: one layer of retries is enough.
    retry: false,
  });
  const empty = Object.keys(cart).length === 0;

  return (
    <div className="order">
      <button {...buttonProps} disabled={buttonProps.disabled || empty} className="primary">
        Place order
      </button>
      <p className="key">
        Idempotency-Key: {key ? <code>{key}</code> : <span>minted at the click, kept until the order is settled</span>}
      </p>
      <Message
        status={status}
        success={data && `Order #${data.order.id} placed: ${formatPrice(data.order.total)}${data.replayed ? ' (the server replayed its stored answer)' : ''}.`}
        failure={status === 'error' ? `${describeError(error)} Your cart is kept: try again, the same key will be sent.` : undefined}
      />
    </div>
  );
}

/**
 * The hook hands over the intent's key; the axios adapter puts it on the request and
 * retries with it after a lost response, a 503 or a 409.
 */
async function placeOrder(request: OrderRequest, { key, signal }: ActionContext): Promise<PlacedOrder> {
  await faultsSettled();
  try {
    const response = await shopApi.post<Order>('/api/orders', request, { idempotency: { key }, signal });
    return { order: response.data, replayed: response.headers['idempotent-replayed'] === 'true' };
  } finally {
    refreshServerView();
  }
}

export function UnprotectedOrderButton({ cart }: OrderButtonProps) {
  const [inFlight, setInFlight] = useState(0);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | undefined>(undefined);
  const empty = Object.keys(cart).length === 0;

  // Deliberately naive: every click posts, no key, no guard. This is what the demo cures.
  const onClick = async () => {
    setInFlight((n) => n + 1);
    eventLog.note('protection off: POST /api/orders without a key', 'bad');
    try {
      await faultsSettled();
      const response = await plainApi.post<Order>('/api/orders', orderRequest(cart));
      setMessage({ ok: true, text: `Order #${response.data.id} placed: ${formatPrice(response.data.total)}.` });
    } catch (error) {
      setMessage({ ok: false, text: describeError(error) });
    } finally {
      setInFlight((n) => n - 1);
      refreshServerView();
    }
  };

  return (
    <div className="order">
      <button type="button" className="primary danger" disabled={empty} onClick={() => void onClick()}>
        Place order
      </button>
      <p className="key">
        Idempotency-Key: <code>none (protection off)</code>
        {inFlight > 0 && <span className="muted"> · {inFlight} in flight</span>}
      </p>
      <Message
        status={message === undefined ? (inFlight > 0 ? 'pending' : 'idle') : message.ok ? 'success' : 'error'}
        success={message?.ok ? message.text : undefined}
        failure={message && !message.ok ? message.text : undefined}
      />
    </div>
  );
}

function Message({ status, success, failure }: { status: string; success: string | undefined; failure: string | undefined }) {
  const text = status === 'pending' ? 'Placing your order…' : status === 'success' ? success : status === 'error' ? failure : undefined;
  return (
    <p role="status" className={`message ${status}`}>
      {text ?? ' '}
    </p>
  );
}

function describeError(error: unknown): string {
  if (isSubmitOnceError(error, 'ambiguous-outcome')) {
    return 'No answer from the server after every retry: the order may or may not have been placed.';
  }
  if (isSubmitOnceError(error, 'outcome-unknown')) {
    return 'The server cannot tell whether this order was placed, and will not place it again: check your orders before ordering anew.';
  }
  if (isAxiosError(error)) {
    if (error.response) return `The server answered ${error.response.status}.`;
    return `No answer from the server (${error.message}).`;
  }
  return error instanceof Error ? `${error.name}: ${error.message}.` : 'The order failed.';
}
