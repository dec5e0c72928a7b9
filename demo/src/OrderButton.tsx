/**
 * "Place order", two ways: through submit-once (the hook's guarded button, the axios
 * adapter's key and retries) or, with "Protection off", a plain onClick that posts each click.
 */
import { useRef, useState, type MouseEvent } from 'react';
import { isAxiosError } from 'axios';
import type { ActionContext } from '../../src/react/index.js';
import { isSubmitOnceError } from '../../src/index.js';
import { useIdempotentSubmit } from '../../src/react/index.js';
import { formatPrice, type Order, type OrderRequest } from '../shared/catalog.js';
import { orderRequest, type Cart } from './cart.js';
import { eventLog } from './event-log.js';
import { faultsSettled, intentEngine, plainApi, shopApi } from './http.js';
import { refreshServerView } from './server-view.js';
import { TOKEN_ORDERS_PATH, tokenEngine } from './token-mode.js';

interface OrderButtonProps {
  cart: Cart;
}

interface PlacedOrder {
  order: Order;
  /** The server answered from its store: this attempt did not run the order again. */
  replayed: boolean;
}

/** The hook's debounce, set explicitly so the log below can tell when a click falls in it. */
const DEBOUNCE_MS = 300;

export function ProtectedOrderButton({ cart, tokenMode = false }: OrderButtonProps & { tokenMode?: boolean }) {
  // The hook ignores a click while its order is pending or within its debounce, and says
  // nothing about it (its onClick returns nothing, no event is emitted). So the page keeps
  // the same two facts, set in the same synchronous click and at the same settle, to log
  // the click it swallowed.
  const guard = useRef({ pending: false, quietUntil: 0 });
  const settled = () => {
    guard.current.pending = false;
    guard.current.quietUntil = Math.max(guard.current.quietUntil, Date.now() + DEBOUNCE_MS);
  };
  const { buttonProps, status, data, error, key } = useIdempotentSubmit(tokenMode ? placeTokenOrder : placeOrder, {
    // Token mode: its own intent (a UUID key stored for the other is no token), the
    // server's key, and the key claimed on pointerdown so the click waits on nothing.
    intent: tokenMode ? 'place-order-token' : 'place-order',
    input: orderRequest(cart),
    submitter: tokenMode ? tokenEngine : intentEngine,
    prepare: tokenMode,
    // The axios adapter below retries each attempt with this key: one layer of retries is enough.
    retry: false,
    debounce: DEBOUNCE_MS,
    onSuccess: settled,
    onError: settled,
  });
  const empty = Object.keys(cart).length === 0;

  const onClick = (event: MouseEvent<HTMLElement>) => {
    const now = Date.now();
    const state = guard.current;
    if (state.pending) {
      eventLog.note('click ignored: this order is already in flight, nothing sent', 'good', { coalesce: true });
    } else if (now < state.quietUntil) {
      eventLog.note(`click ignored: within ${DEBOUNCE_MS} ms of the last one (a double-click), nothing sent`, 'good', { coalesce: true });
    } else {
      state.pending = true;
      state.quietUntil = now + DEBOUNCE_MS;
    }
    buttonProps.onClick(event);
  };

  return (
    <div className="order">
      <button {...buttonProps} onClick={onClick} disabled={buttonProps.disabled || empty} className="primary">
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
async function placeOrder(request: OrderRequest, context: ActionContext, url = '/api/orders'): Promise<PlacedOrder> {
  const { key, signal } = context;
  await faultsSettled();
  try {
    const response = await shopApi.post<Order>(url, request, { idempotency: { key }, signal });
    return { order: response.data, replayed: response.headers['idempotent-replayed'] === 'true' };
  } finally {
    refreshServerView();
  }
}

const placeTokenOrder = (request: OrderRequest, context: ActionContext) => placeOrder(request, context, TOKEN_ORDERS_PATH);

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
