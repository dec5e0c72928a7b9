// @vitest-environment jsdom
import { act, cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { StrictMode, useEffect, useState, version as reactVersion } from 'react';
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { createSubmitter } from '../../src/core/submitter.js';
import { memoryStore } from '../../src/core/store.js';
import type { Action } from '../../src/ui/submission-observer.js';
import { useIdempotentSubmit, type UseIdempotentSubmitOptions } from '../../src/react/index.js';
import { countAbortControllers } from '../helpers/count-abort-controllers.js';
import { controlledAction, engine, tick } from './helpers.js';

afterEach(cleanup);

/** vite.config.ts runs this file on React 19 (project `unit`) and on React 18 (project `react18`). */
const react19 = Number(reactVersion.split('.')[0]) >= 19;

interface Cart {
  sku: string;
  qty: number;
}

function OrderButton(props: {
  action: Action<Cart, string>;
  cart?: Cart;
  options?: UseIdempotentSubmitOptions<Cart, string>;
}) {
  const cart = props.cart ?? { sku: 'A', qty: 1 };
  const order = useIdempotentSubmit(props.action, { intent: 'place-order', input: cart, ...engine(), ...props.options });
  return (
    <div>
      <button {...order.buttonProps}>Place order</button>
      <button type="button" onClick={order.reset}>
        Reset
      </button>
      <output aria-label="status">{order.status}</output>
      <output aria-label="data">{order.data ?? ''}</output>
      <output aria-label="error">{order.error instanceof Error ? order.error.message : ''}</output>
    </div>
  );
}

const placeOrder = () => screen.getByRole('button', { name: 'Place order' });
const statusText = () => screen.getByLabelText('status').textContent;

describe('useIdempotentSubmit: the synchronous guard', () => {
  it('sends once for 20 clicks in one tick, before React re-renders', async () => {
    const { action, answers } = controlledAction<Cart, string>();
    render(<OrderButton action={action} />);
    const button = placeOrder();
    act(() => {
      // One act: React renders only after all 20 clicks, so `disabled` cannot help.
      for (let i = 0; i < 20; i += 1) button.click();
    });
    await waitFor(() => expect(action).toHaveBeenCalled());
    await act(() => tick(20));
    expect(action).toHaveBeenCalledTimes(1);
    await act(async () => answers[0]!.resolve('order-1'));
    await waitFor(() => expect(statusText()).toBe('success'));
    expect(action).toHaveBeenCalledTimes(1);
  });

  it('holds the lock itself, even when each click is a different intent the engine would not join', async () => {
    const { action, answers } = controlledAction<Cart, string>();
    let n = 0;
    // A fresh intent per click: only the hook's own lock can stop the second one.
    const intent = () => ({ method: 'POST', url: '/orders', body: { n: (n += 1) } });
    render(<OrderButton action={action} options={{ intent, debounce: 0 }} />);
    const button = placeOrder();
    act(() => {
      for (let i = 0; i < 20; i += 1) button.click();
    });
    await waitFor(() => expect(action).toHaveBeenCalled());
    await act(() => tick(20));
    expect(action).toHaveBeenCalledTimes(1);
    await act(async () => answers[0]!.resolve('order-1'));
  });

  it('the same clicks through `disabled={isPending}` alone send 20 times (the check can fail)', async () => {
    const send = vi.fn(async () => 'order');
    function Naive() {
      const [isPending, setPending] = useState(false);
      const onClick = () => {
        setPending(true);
        void send().finally(() => setPending(false));
      };
      return (
        <button type="button" disabled={isPending} onClick={onClick}>
          Place order
        </button>
      );
    }
    render(<Naive />);
    const button = placeOrder();
    act(() => {
      for (let i = 0; i < 20; i += 1) button.click();
    });
    expect(send).toHaveBeenCalledTimes(20);
  });

  it('is disabled and aria-busy while pending, enabled after', async () => {
    const { action, answers } = controlledAction<Cart, string>();
    render(<OrderButton action={action} />);
    expect(placeOrder()).toHaveProperty('disabled', false);
    expect(placeOrder().getAttribute('aria-busy')).toBe('false');
    expect(placeOrder().getAttribute('type')).toBe('button');
    fireEvent.click(placeOrder());
    expect(placeOrder()).toHaveProperty('disabled', true);
    expect(placeOrder().getAttribute('aria-busy')).toBe('true');
    await waitFor(() => expect(action).toHaveBeenCalledTimes(1));
    await act(async () => answers[0]!.resolve('order-1'));
    await waitFor(() => expect(placeOrder()).toHaveProperty('disabled', false));
    expect(placeOrder().getAttribute('aria-busy')).toBe('false');
    expect(screen.getByLabelText('data').textContent).toBe('order-1');
  });

  it('ignores a click within the debounce after a settle', async () => {
    const action = vi.fn(async () => 'order');
    render(<OrderButton action={action} options={{ debounce: 10_000, settleWindow: 0 }} />);
    fireEvent.click(placeOrder());
    await waitFor(() => expect(statusText()).toBe('success'));
    fireEvent.click(placeOrder());
    await act(() => tick(20));
    expect(action).toHaveBeenCalledTimes(1);
  });

  it('clicks that keep coming (a held Enter key repeating) send once: each one, even ignored, moves the debounce on', async () => {
    // The debounce's own clock, stepped by the test: a busy machine cannot stretch the gaps.
    let now = 1_000;
    const clock = vi.spyOn(performance, 'now').mockImplementation(() => now);
    onTestFinished(() => clock.mockRestore());
    const action = vi.fn(async () => 'order');
    render(<OrderButton action={action} options={{ debounce: 60, settleWindow: 0 }} />);
    // A click every 20 ms for 400 ms: each lands inside the debounce of the one before.
    for (let i = 0; i < 20; i += 1) {
      fireEvent.click(placeOrder());
      await act(() => tick(1));
      now += 20;
    }
    expect(action).toHaveBeenCalledTimes(1);
    // Once they stop for the debounce, a click is a new gesture again.
    now += 60;
    fireEvent.click(placeOrder());
    await waitFor(() => expect(action).toHaveBeenCalledTimes(2));
  });
});

describe('useIdempotentSubmit: options', () => {
  it('a debounce that is not a number >= 0 throws InvalidOptionsError from the render', () => {
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    // NaN turned the debounce off without a word; '300' ignored every click after the first.
    for (const debounce of [Number.NaN, '300', -5]) {
      expect(() => render(<OrderButton action={vi.fn(async () => 'order')} options={{ debounce: debounce as number }} />)).toThrow(
        expect.objectContaining({ code: 'invalid-options', option: 'debounce' }),
      );
      cleanup();
    }
    vi.restoreAllMocks();
  });
});

describe('useIdempotentSubmit: StrictMode and unmount', () => {
  it('sends exactly once from a StrictMode render whose effect submits', async () => {
    const action = vi.fn(async (cart: Cart) => `order for ${cart.sku}`);
    function AutoSubmit() {
      const order = useIdempotentSubmit(action, { intent: 'auto', ...engine() });
      const { submit } = order;
      useEffect(() => submit({ sku: 'A', qty: 1 }), [submit]);
      return <output aria-label="status">{order.status}</output>;
    }
    render(
      <StrictMode>
        <AutoSubmit />
      </StrictMode>,
    );
    await waitFor(() => expect(statusText()).toBe('success'));
    await act(() => tick(20));
    expect(action).toHaveBeenCalledTimes(1);
  });

  it('sends once per click in StrictMode', async () => {
    const { action, answers } = controlledAction<Cart, string>();
    render(
      <StrictMode>
        <OrderButton action={action} />
      </StrictMode>,
    );
    fireEvent.click(placeOrder());
    await waitFor(() => expect(action).toHaveBeenCalledTimes(1));
    await act(async () => answers[0]!.resolve('order-1'));
    await waitFor(() => expect(statusText()).toBe('success'));
    expect(action).toHaveBeenCalledTimes(1);
  });

  it('unmounting while pending aborts quietly, sends nothing more, and keeps the key', async () => {
    const errors = vi.spyOn(console, 'error');
    const warnings = vi.spyOn(console, 'warn');
    const onError = vi.fn();
    const options = engine();
    const submitter = createSubmitter(options);
    const { action, calls, answers } = controlledAction<Cart, string>();
    const view = render(<OrderButton action={action} options={{ submitter, onError }} />);
    fireEvent.click(placeOrder());
    await waitFor(() => expect(action).toHaveBeenCalledTimes(1));
    view.unmount();
    await tick(5);
    expect(calls[0]!.context.signal.aborted).toBe(true);
    // The request had left: its answer arrives after the unmount and must not be re-sent.
    answers[0]!.resolve('order-1');
    await tick(20);
    expect(action).toHaveBeenCalledTimes(1);
    expect(onError).not.toHaveBeenCalled();
    expect(errors).not.toHaveBeenCalled();
    expect(warnings).not.toHaveBeenCalled();

    // The same intent, mounted again, reuses the key, so the server replays instead of acting twice.
    const again = controlledAction<Cart, string>();
    render(<OrderButton action={again.action} options={{ submitter }} />);
    fireEvent.click(placeOrder());
    await waitFor(() => expect(again.action).toHaveBeenCalledTimes(1));
    expect(again.calls[0]!.context.key).toBe(calls[0]!.context.key);
    await act(async () => again.answers[0]!.resolve('order-1'));
  });

  it('a click whose action never reads `signal` makes no AbortController', async () => {
    const made = countAbortControllers();
    try {
      const action = vi.fn(async (cart: Cart, { key }: { key: string }) => `order ${cart.sku} ${key}`);
      render(<OrderButton action={action} />);
      fireEvent.click(placeOrder());
      await waitFor(() => expect(statusText()).toBe('success'));
      expect(action).toHaveBeenCalledTimes(1);
      expect(made()).toBe(0);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('a signal read while pending is the one the unmount aborts, and stays the same signal', async () => {
    const onError = vi.fn();
    let read: AbortSignal | undefined;
    const { action, calls, answers } = controlledAction<Cart, string>();
    const reading: Action<Cart, string> = (cart, context) => ((read = context.signal), action(cart, context));
    const view = render(<OrderButton action={reading} options={{ onError }} />);
    fireEvent.click(placeOrder());
    await waitFor(() => expect(action).toHaveBeenCalledTimes(1));
    expect(read!.aborted).toBe(false);
    view.unmount();
    await tick(5);
    expect(read!.aborted).toBe(true);
    expect((read!.reason as DOMException).name).toBe('AbortError');
    expect(calls[0]!.context.signal).toBe(read);
    answers[0]!.resolve('order-1');
    await tick(20);
    expect(onError).not.toHaveBeenCalled();
    expect(action).toHaveBeenCalledTimes(1);
  });

  it('does not retry after unmount', async () => {
    const action = vi.fn(async () => {
      throw new Error('network down');
    });
    const view = render(<OrderButton action={action} options={{ retry: { attempts: 5, baseDelay: 1000 }, random: () => 1 }} />);
    fireEvent.click(placeOrder());
    await waitFor(() => expect(action).toHaveBeenCalledTimes(1));
    view.unmount();
    // The first retry was due after 1 s: wait past it.
    await tick(1200);
    expect(action).toHaveBeenCalledTimes(1);
  });

  it('does not retry after unmount a submission reset() while it was retrying', async () => {
    // reset() lets the pending submission go on without showing it; unmounting must still
    // stop its retries, as it does for the one shown.
    const action = vi.fn(async () => {
      throw new Error('network down');
    });
    const view = render(<OrderButton action={action} options={{ retry: { attempts: 5, baseDelay: 1000 }, random: () => 1 }} />);
    fireEvent.click(placeOrder());
    await waitFor(() => expect(action).toHaveBeenCalledTimes(1));
    fireEvent.click(screen.getByRole('button', { name: 'Reset' }));
    view.unmount();
    await tick(1200);
    expect(action).toHaveBeenCalledTimes(1);
  });
});

describe('useIdempotentSubmit: outcomes', () => {
  it('a final failure sets status "error" and error, and calls onError', async () => {
    const refusal = Object.assign(new Error('out of stock'), { response: { status: 400 } });
    const action = vi.fn(async () => {
      throw refusal;
    });
    const onError = vi.fn();
    render(<OrderButton action={action} options={{ onError }} />);
    fireEvent.click(placeOrder());
    await waitFor(() => expect(statusText()).toBe('error'));
    expect(screen.getByLabelText('error').textContent).toBe('out of stock');
    expect(onError).toHaveBeenCalledWith(refusal, { sku: 'A', qty: 1 }, expect.any(String));
    expect(action).toHaveBeenCalledTimes(1);
    expect(placeOrder()).toHaveProperty('disabled', false);
  });

  it('an error carrying `status` (no `response`) is classified by it: a 400 is final, and the app gets that error', async () => {
    // A fetch action's own `class HttpError { status }`, Angular's HttpErrorResponse, ofetch's FetchError.
    const refusal = Object.assign(new Error('out of stock'), { status: 400 });
    const action = vi.fn(async () => {
      throw refusal;
    });
    const onError = vi.fn();
    render(<OrderButton action={action} options={{ onError }} />);
    fireEvent.click(placeOrder());
    await waitFor(() => expect(statusText()).toBe('error'));
    expect(action).toHaveBeenCalledTimes(1);
    expect(onError).toHaveBeenCalledWith(refusal, { sku: 'A', qty: 1 }, expect.any(String));
  });

  it('retries an ambiguous failure with the same key', async () => {
    const contexts: { key: string; attempt: number }[] = [];
    const action = vi.fn(async (_cart: Cart, { key, attempt }: { key: string; attempt: number }) => {
      contexts.push({ key, attempt });
      if (attempt === 1) throw new Error('connection reset');
      return 'order-1';
    });
    const onSuccess = vi.fn();
    render(<OrderButton action={action} options={{ retry: { attempts: 3, baseDelay: 1 }, onSuccess }} />);
    fireEvent.click(placeOrder());
    await waitFor(() => expect(statusText()).toBe('success'));
    expect(contexts.map((c) => c.attempt)).toEqual([1, 2]);
    expect(contexts[1]!.key).toBe(contexts[0]!.key);
    expect(onSuccess).toHaveBeenCalledWith('order-1', { sku: 'A', qty: 1 }, contexts[0]!.key);
  });

  it('reset() returns to idle and lets a new intent through', async () => {
    const action = vi.fn(async (cart: Cart) => `order ${cart.qty}`);
    const view = render(<OrderButton action={action} />);
    fireEvent.click(placeOrder());
    await waitFor(() => expect(statusText()).toBe('success'));
    fireEvent.click(screen.getByRole('button', { name: 'Reset' }));
    expect(statusText()).toBe('idle');
    expect(screen.getByLabelText('data').textContent).toBe('');
    view.rerender(<OrderButton action={action} cart={{ sku: 'A', qty: 2 }} />);
    fireEvent.click(placeOrder());
    await waitFor(() => expect(statusText()).toBe('success'));
    expect(action).toHaveBeenCalledTimes(2);
    expect(action.mock.calls[1]![0]).toEqual({ sku: 'A', qty: 2 });
    expect(screen.getByLabelText('data').textContent).toBe('order 2');
  });

  it('clicks read the latest render’s input', async () => {
    const action = vi.fn(async (cart: Cart) => `order ${cart.qty}`);
    const view = render(<OrderButton action={action} />);
    view.rerender(<OrderButton action={action} cart={{ sku: 'B', qty: 3 }} />);
    fireEvent.click(placeOrder());
    await waitFor(() => expect(statusText()).toBe('success'));
    expect(action.mock.calls[0]![0]).toEqual({ sku: 'B', qty: 3 });
  });

  it('getButtonProps(input): one action, several buttons, each with its own input, one lock', async () => {
    const { action, calls, answers } = controlledAction<Cart, string>();
    function Sizes() {
      const order = useIdempotentSubmit(action, { intent: 'sizes', ...engine() });
      return (
        <>
          <button {...order.getButtonProps({ sku: 'S', qty: 1 })}>Small</button>
          <button {...order.getButtonProps({ sku: 'L', qty: 1 })}>Large</button>
        </>
      );
    }
    render(<Sizes />);
    act(() => {
      screen.getByRole('button', { name: 'Large' }).click();
      screen.getByRole('button', { name: 'Small' }).click();
    });
    await waitFor(() => expect(action).toHaveBeenCalled());
    await act(() => tick(20));
    expect(action).toHaveBeenCalledTimes(1);
    expect(calls[0]!.input).toEqual({ sku: 'L', qty: 1 });
    expect(screen.getByRole('button', { name: 'Small' })).toHaveProperty('disabled', true);
    await act(async () => answers[0]!.resolve('ok'));
  });

  it('exposes the key the action received', async () => {
    const { action, calls, answers } = controlledAction<Cart, string>();
    let seenKey: string | undefined;
    function WithKey() {
      const order = useIdempotentSubmit(action, { intent: 'k', input: { sku: 'A', qty: 1 }, ...engine() });
      seenKey = order.key;
      return <button {...order.buttonProps}>Place order</button>;
    }
    render(<WithKey />);
    fireEvent.click(placeOrder());
    await waitFor(() => expect(seenKey).toBeDefined());
    expect(seenKey).toBe(calls[0]!.context.key);
    await act(async () => answers[0]!.resolve('ok'));
  });
});

describe('useIdempotentSubmit: prepare', () => {
  it('with `prepare: true`, pointerdown writes the key ahead, before any click, and the click sends it', async () => {
    const store = memoryStore();
    const submitter = createSubmitter({ ...engine(), store });
    const { action, calls, answers } = controlledAction<Cart, string>();
    render(<OrderButton action={action} options={{ submitter, prepare: true }} />);
    fireEvent.pointerDown(placeOrder());
    // The record is in the store while nothing has been clicked: that is what prepare buys.
    await waitFor(async () => expect(await store.list()).toHaveLength(1));
    const [prepared] = await store.list();
    expect(prepared!.state).toBe('pending');
    expect(action).not.toHaveBeenCalled();
    fireEvent.click(placeOrder());
    await waitFor(() => expect(action).toHaveBeenCalledTimes(1));
    expect(calls[0]!.context.key).toBe(prepared!.key);
    await act(async () => answers[0]!.resolve('ok'));
  });

  it('without it, pointerdown writes nothing', async () => {
    const store = memoryStore();
    const submitter = createSubmitter({ ...engine(), store });
    render(<OrderButton action={vi.fn(async () => 'ok')} options={{ submitter }} />);
    fireEvent.pointerDown(placeOrder());
    await act(() => tick(10));
    expect(await store.list()).toHaveLength(0);
  });
});

describe('useIdempotentSubmit: forms', () => {
  it('formProps: Enter twice and a double click on submit send once, with the mapped input', async () => {
    const { action, calls, answers } = controlledAction<{ text: string }, string>();
    function MessageForm() {
      const { formProps, status } = useIdempotentSubmit(action, {
        intent: 'send-message',
        formInput: (data) => ({ text: String(data.get('text')) }),
        ...engine(),
      });
      return (
        <form {...formProps} aria-label="message">
          <input name="text" defaultValue="hello" aria-label="text" />
          <button type="submit">Send</button>
          <output aria-label="status">{status}</output>
        </form>
      );
    }
    render(<MessageForm />);
    const form = screen.getByRole<HTMLFormElement>('form', { name: 'message' });
    act(() => {
      form.requestSubmit();
      form.requestSubmit();
      screen.getByRole('button', { name: 'Send' }).click();
      screen.getByRole('button', { name: 'Send' }).click();
    });
    await waitFor(() => expect(action).toHaveBeenCalled());
    await act(() => tick(20));
    expect(action).toHaveBeenCalledTimes(1);
    expect(calls[0]!.input).toEqual({ text: 'hello' });
    expect(form.getAttribute('aria-busy')).toBe('true');
    await act(async () => answers[0]!.resolve('sent'));
    await waitFor(() => expect(statusText()).toBe('success'));
  });

  // React 18 has no form actions: it renders a function `action` prop as nothing, so the
  // submit is a plain form submission. `formAction` is documented as React 19 only.
  it.skipIf(!react19)('formAction (React 19 only; React 18 has no form actions): receives the FormData, sends once', async () => {
    const { action, calls, answers } = controlledAction<FormData, string>();
    function ActionForm() {
      const { formAction, status } = useIdempotentSubmit(action, { intent: 'form-action', ...engine() });
      return (
        <form action={formAction}>
          <input name="text" defaultValue="hi" aria-label="text" />
          <button type="submit">Send</button>
          <output aria-label="status">{status}</output>
        </form>
      );
    }
    render(<ActionForm />);
    const send = screen.getByRole('button', { name: 'Send' });
    act(() => {
      send.click();
      send.click();
    });
    await waitFor(() => expect(action).toHaveBeenCalled());
    await act(() => tick(20));
    expect(action).toHaveBeenCalledTimes(1);
    expect(calls[0]!.input).toBeInstanceOf(FormData);
    expect(calls[0]!.input.get('text')).toBe('hi');
    await act(async () => answers[0]!.resolve('sent'));
    await waitFor(() => expect(statusText()).toBe('success'));
  });
});
