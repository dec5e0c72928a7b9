// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createSubmitter } from '../../src/core/submitter.js';
import { memoryStore } from '../../src/core/store.js';
import { isSubmitOnceError } from '../../src/core/errors.js';
import { guardButton, guardForm } from '../../src/dom/index.js';
import type { GuardContext } from '../../src/dom/index.js';
import { countAbortControllers } from '../helpers/count-abort-controllers.js';
import { controlledAction, engine, tick } from '../react/helpers.js';

let disposers: (() => void)[] = [];
const track = (dispose: () => void) => {
  disposers.push(dispose);
  return dispose;
};

beforeEach(() => {
  document.body.innerHTML = '';
});
afterEach(() => {
  for (const dispose of disposers) dispose();
  disposers = [];
});

function controlled() {
  const { action, calls, answers } = controlledAction<GuardContext, string>();
  const handler = vi.fn((context: GuardContext) => action(context, context));
  return { handler, calls, answers };
}

describe('guardButton', () => {
  function button(attributes = '') {
    document.body.innerHTML = `<button id="pay" ${attributes}>Pay</button>`;
    return document.querySelector('button')!;
  }

  it('a double-click sends once, with a key and a signal', async () => {
    const el = button();
    const { handler, calls, answers } = controlled();
    track(guardButton(el, handler, engine()));
    // Synthetic events reach even a disabled button: only the guard's own lock stops them.
    for (const type of ['click', 'click', 'dblclick', 'click']) el.dispatchEvent(new MouseEvent(type, { bubbles: true }));
    await tick(20);
    expect(handler).toHaveBeenCalledTimes(1);
    expect(calls[0]!.context.key).toMatch(/^[0-9a-f-]{36}$/);
    expect(calls[0]!.context.signal).toBeInstanceOf(AbortSignal);
    answers[0]!.resolve('paid');
  });

  it('is disabled and aria-busy while pending, and gets its previous state back', async () => {
    const el = button('aria-busy="false"');
    const plain = document.createElement('div');
    plain.id = 'plain';
    document.body.append(plain);
    const { handler, answers } = controlled();
    const onSuccess = vi.fn();
    track(guardButton(el, handler, { ...engine(), onSuccess }));
    const { handler: plainHandler, answers: plainAnswers } = controlled();
    track(guardButton(plain, plainHandler, engine()));

    el.click();
    plain.click();
    expect(el.disabled).toBe(true);
    expect(el.getAttribute('aria-busy')).toBe('true');
    expect(plain.getAttribute('aria-busy')).toBe('true');
    await tick(5);
    answers[0]!.resolve('paid');
    plainAnswers[0]!.resolve('done');
    await tick(5);
    expect(el.disabled).toBe(false);
    expect(el.getAttribute('aria-busy')).toBe('false');
    expect(plain.hasAttribute('aria-busy')).toBe(false);
    expect(onSuccess).toHaveBeenCalledWith('paid', expect.any(String));
  });

  it('ignores a click within the debounce after a settle, accepts one after', async () => {
    const el = button();
    const handler = vi.fn(async () => 'ok');
    track(guardButton(el, handler, { ...engine(), debounce: 50, settleWindow: 0 }));
    el.click();
    await tick(5);
    el.click();
    await tick(5);
    expect(handler).toHaveBeenCalledTimes(1);
    await tick(80);
    el.click();
    await tick(5);
    expect(handler).toHaveBeenCalledTimes(2);
  });

  it('a wall clock set back (NTP, the user) does not make later clicks ignored: the debounce runs on a monotonic clock', async () => {
    const el = button();
    const handler = vi.fn(async () => 'paid');
    track(guardButton(el, handler, { ...engine(), debounce: 10, settleWindow: 0 }));
    el.click();
    await vi.waitFor(() => expect(el.disabled).toBe(false));
    expect(handler).toHaveBeenCalledTimes(1);
    // An hour back: a debounce counted in Date.now() ignored every click for that hour.
    const hourAgo = Date.now() - 3_600_000;
    vi.spyOn(Date, 'now').mockImplementation(() => hourAgo);
    try {
      await tick(30);
      el.click();
      await vi.waitFor(() => expect(handler).toHaveBeenCalledTimes(2));
    } finally {
      vi.restoreAllMocks();
    }
  });

  it('retries an ambiguous failure with the same key, then reports the error', async () => {
    const el = button();
    const keys: string[] = [];
    const onError = vi.fn();
    track(
      guardButton(
        el,
        async ({ key }) => {
          keys.push(key);
          throw new Error('network down');
        },
        { ...engine(), retry: { attempts: 3, baseDelay: 1 }, onError },
      ),
    );
    el.click();
    await vi.waitFor(() => expect(onError).toHaveBeenCalledTimes(1));
    expect(keys).toHaveLength(3);
    expect(new Set(keys).size).toBe(1);
    expect(el.disabled).toBe(false);
  });

  it('prevents the click from also submitting the form around it', async () => {
    document.body.innerHTML = '<form><button id="go" type="submit">Go</button></form>';
    const submitted = vi.fn((event: Event) => event.preventDefault());
    document.querySelector('form')!.addEventListener('submit', submitted);
    const el = document.querySelector('button')!;
    const handler = vi.fn(async () => 'ok');
    track(guardButton(el, handler, engine()));
    el.click();
    await tick(5);
    // Settled but inside the debounce: the button is enabled again and this click is ignored.
    expect(el.disabled).toBe(false);
    el.click();
    await tick(5);
    expect(handler).toHaveBeenCalledTimes(1);
    expect(submitted).not.toHaveBeenCalled();
  });

  it('with `prepare`, pointerdown writes the key ahead, before any click, and the click sends it', async () => {
    const el = button();
    const store = memoryStore();
    const keys: string[] = [];
    const submitter = createSubmitter({ ...engine(), store });
    track(guardButton(el, async ({ key }) => keys.push(key), { submitter, prepare: true }));
    el.dispatchEvent(new Event('pointerdown'));
    // The record is in the store while nothing has been clicked: that is what prepare buys.
    await vi.waitFor(async () => expect(await store.list()).toHaveLength(1));
    const [prepared] = await store.list();
    expect(keys).toEqual([]);
    el.click();
    await vi.waitFor(() => expect(keys).toHaveLength(1));
    expect(keys).toEqual([prepared!.key]);
  });

  it('without `prepare`, pointerdown writes nothing (control)', async () => {
    const el = button();
    const store = memoryStore();
    track(guardButton(el, async () => 'ok', { submitter: createSubmitter({ ...engine(), store }) }));
    el.dispatchEvent(new Event('pointerdown'));
    await tick(10);
    expect(await store.list()).toHaveLength(0);
  });

  it('dispose removes the guard and restores a pending button', async () => {
    const el = button();
    const { handler, calls } = controlled();
    const dispose = guardButton(el, handler, engine());
    el.click();
    expect(el.disabled).toBe(true);
    dispose();
    expect(el.disabled).toBe(false);
    expect(el.hasAttribute('aria-busy')).toBe(false);
    await tick(5);
    // The pending submission is cancelled: its retries stop, its signal aborts.
    expect(calls[0]!.context.signal.aborted).toBe(true);
    el.click();
    await tick(5);
    expect(handler).toHaveBeenCalledTimes(1);
  });
});

describe('guardForm', () => {
  function form() {
    document.body.innerHTML = `
      <form method="post" action="/messages">
        <input name="text" value="hello">
        <button type="submit" name="intent" value="send">Send</button>
        <button type="button" id="other">Other</button>
      </form>`;
    const el = document.querySelector('form')!;
    // What is not intercepted would navigate, which jsdom does not implement.
    const unguarded = vi.fn((event: Event) => event.preventDefault());
    el.addEventListener('submit', unguarded);
    return { el, send: el.querySelector<HTMLButtonElement>('button[type=submit]')!, unguarded };
  }

  it('a double click on the submit button sends once, with the form data and the button', async () => {
    const { el, send, unguarded } = form();
    const { handler, calls, answers } = controlled();
    track(guardForm(el, handler, engine()));
    send.click();
    send.dispatchEvent(new MouseEvent('click', { bubbles: true }));
    await tick(20);
    expect(handler).toHaveBeenCalledTimes(1);
    const context = calls[0]!.context as GuardContext & { formData: FormData; form: HTMLFormElement };
    expect(context.formData.get('text')).toBe('hello');
    expect(context.formData.get('intent')).toBe('send');
    expect(context.form).toBe(el);
    expect(unguarded).toHaveBeenCalled();
    expect(unguarded.mock.calls.every(([event]) => event.defaultPrevented)).toBe(true);
    answers[0]!.resolve('sent');
  });

  it('every attempt gets `body`: the form (with the button) encoded once, as multipart bytes under the key, the Content-Type as its type', async () => {
    const { el, send } = form();
    const bodies: Blob[] = [];
    const keys: string[] = [];
    const onError = vi.fn();
    track(
      guardForm(
        el,
        async ({ key, body }) => {
          keys.push(key);
          bodies.push(body);
          throw new Error('network down');
        },
        { ...engine(), retry: { attempts: 3, baseDelay: 1 }, onError },
      ),
    );
    send.click();
    await vi.waitFor(() => expect(onError).toHaveBeenCalledTimes(1));
    expect(bodies).toHaveLength(3);
    expect(new Set(bodies).size).toBe(1);
    const [body] = bodies;
    const boundary = /^multipart\/form-data; boundary=(submit-once-[0-9a-f]{16})$/.exec(body!.type)?.[1];
    expect(boundary, body!.type).toBeDefined();
    const text = await new Promise<string>((resolve) => {
      const reader = new FileReader();
      reader.onload = () => resolve(reader.result as string);
      reader.readAsText(body!);
    });
    expect(text).toBe(
      `--${boundary}\r\nContent-Disposition: form-data; name="text"\r\n\r\nhello\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="intent"\r\n\r\nsend\r\n--${boundary}--\r\n`,
    );
    expect(new Set(keys).size).toBe(1);
  });

  it('Enter twice in a field (implicit submission) sends once', async () => {
    const { el } = form();
    const { handler, answers } = controlled();
    track(guardForm(el, handler, engine()));
    // Implicit submission is requestSubmit() with the default button; jsdom has no Enter key handling.
    el.requestSubmit();
    el.requestSubmit();
    await tick(20);
    expect(handler).toHaveBeenCalledTimes(1);
    answers[0]!.resolve('sent');
  });

  it('while pending, a submit of changed data sends nothing either (the lock is the guard’s own)', async () => {
    const { el } = form();
    const { handler, answers } = controlled();
    track(guardForm(el, handler, { ...engine(), debounce: 0 }));
    el.requestSubmit();
    el.querySelector('input')!.value = 'hello again';
    el.requestSubmit();
    await tick(20);
    expect(handler).toHaveBeenCalledTimes(1);
    answers[0]!.resolve('sent');
    await tick(5);
    el.requestSubmit();
    await tick(20);
    expect(handler).toHaveBeenCalledTimes(2);
  });

  it('marks the form busy and its submit buttons disabled while pending, and restores them', async () => {
    const { el, send } = form();
    const other = el.querySelector<HTMLButtonElement>('#other')!;
    const { handler, answers } = controlled();
    track(guardForm(el, handler, engine()));
    send.click();
    expect(el.getAttribute('aria-busy')).toBe('true');
    expect(send.disabled).toBe(true);
    expect(send.getAttribute('aria-busy')).toBe('true');
    expect(other.disabled).toBe(false);
    await tick(5);
    answers[0]!.resolve('sent');
    await tick(5);
    expect(el.hasAttribute('aria-busy')).toBe(false);
    expect(send.disabled).toBe(false);
    expect(send.hasAttribute('aria-busy')).toBe(false);
  });

  it('uses the form’s own request as the default intent', async () => {
    const { el, send } = form();
    const events: string[] = [];
    const handler = vi.fn(async () => 'sent');
    const submitter = createSubmitter({
      ...engine(),
      onEvent: (event) => events.push(event.type),
    });
    track(guardForm(el, handler, { submitter }));
    send.click();
    await vi.waitFor(() => expect(handler).toHaveBeenCalledTimes(1));
    const key = await submitter.peek({
      method: 'POST',
      url: new URL('/messages', document.baseURI),
      body: (() => {
        const data = new FormData();
        data.append('text', 'hello');
        data.append('intent', 'send');
        return data;
      })(),
    });
    expect(key).toBeDefined();
    expect(events).toContain('settled');
  });

  it('a submit button with its own formaction is another intent, as the browser would send it elsewhere', async () => {
    document.body.innerHTML = `
      <form method="post" action="/drafts">
        <input name="text" value="hello">
        <button type="submit" id="save">Save draft</button>
        <button type="submit" id="publish" formaction="/publish">Publish</button>
      </form>`;
    const el = document.querySelector('form')!;
    const handler = vi.fn(async () => 'done');
    const submitter = createSubmitter(engine());
    track(guardForm(el, handler, { submitter, debounce: 0 }));
    el.querySelector<HTMLButtonElement>('#save')!.click();
    await vi.waitFor(() => expect(handler).toHaveBeenCalledTimes(1));
    await tick(5);
    // Inside the settle window of the draft's answer: publishing must not be answered with it.
    el.querySelector<HTMLButtonElement>('#publish')!.click();
    await tick(20);
    expect(handler).toHaveBeenCalledTimes(2);
    const publish = new FormData();
    publish.append('text', 'hello');
    expect(await submitter.peek({ method: 'POST', url: new URL('/publish', document.baseURI), body: publish })).toBeDefined();
  });

  it('dispose stops intercepting submit events', async () => {
    const { el, unguarded } = form();
    const handler = vi.fn(async () => 'sent');
    const dispose = guardForm(el, handler, engine());
    dispose();
    el.requestSubmit();
    await tick(5);
    expect(handler).not.toHaveBeenCalled();
    expect(unguarded).toHaveBeenCalledTimes(1);
  });
});

describe('one guard per element', () => {
  it('a second guard on the same button throws; the first keeps working and leaves the button as it was', async () => {
    document.body.innerHTML = '<button id="pay">Pay</button>';
    const el = document.querySelector('button')!;
    const submitter = createSubmitter(engine());
    const { handler, answers } = controlled();
    const dispose = guardButton(el, handler, { submitter });
    // Before, both guarded it: the second saved `disabled` as the first had set it and put
    // that back after the first restored it, so the button stayed disabled for good.
    let error: unknown;
    try {
      track(guardButton(el, handler, { submitter }));
    } catch (caught) {
      error = caught;
    }
    expect(isSubmitOnceError(error, 'invalid-options') && error.option).toBe('element');
    el.click();
    await tick(20);
    expect(handler).toHaveBeenCalledTimes(1);
    answers[0]!.resolve('paid');
    await tick(5);
    expect(el.disabled).toBe(false);
    expect(el.hasAttribute('aria-busy')).toBe(false);
    // Once disposed, it can be guarded again.
    dispose();
    track(guardButton(el, handler, { submitter, debounce: 0, settleWindow: 0 }));
  });

  it('a debounce that is not a number >= 0 throws InvalidOptionsError when guarding', () => {
    document.body.innerHTML = '<button id="pay">Pay</button>';
    const el = document.querySelector('button')!;
    // '300' (from a config file, say) made every click after the first one ignored for good.
    for (const debounce of ['300', Number.NaN, -1]) {
      let error: unknown;
      try {
        track(guardButton(el, async () => 'paid', { ...engine(), debounce: debounce as number }));
      } catch (caught) {
        error = caught;
      }
      expect(isSubmitOnceError(error, 'invalid-options') && error.option).toBe('debounce');
    }
    track(guardButton(el, async () => 'paid', { ...engine(), debounce: 0 }));
  });

  it('a second guard on the same form throws too', () => {
    document.body.innerHTML = '<form><button>Send</button></form>';
    const el = document.querySelector('form')!;
    track(guardForm(el, async () => 'sent', engine()));
    expect(() => guardForm(el, async () => 'sent', engine())).toThrow(/already guarded/);
  });
});

describe('the AbortController of a click', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('guardButton: a handler that never reads `signal` makes none', async () => {
    document.body.innerHTML = '<button id="pay">Pay</button>';
    const el = document.querySelector('button')!;
    const made = countAbortControllers();
    const handler = vi.fn(async ({ key }: GuardContext) => `paid ${key}`);
    track(guardButton(el, handler, engine()));
    el.click();
    await tick(20);
    expect(handler).toHaveBeenCalledTimes(1);
    expect(made()).toBe(0);
  });

  it('guardForm: a handler that never reads `signal` makes none, and one that reads it gets the signal dispose aborts', async () => {
    document.body.innerHTML = '<form method="post" action="/messages"><input name="text" value="hi"><button type="submit">Send</button></form>';
    const el = document.querySelector('form')!;
    el.addEventListener('submit', (event) => event.preventDefault());
    const made = countAbortControllers();
    const quiet = vi.fn(async ({ key, formData }: GuardContext & { formData: FormData }) => `${key} ${String(formData.get('text'))}`);
    const dispose = guardForm(el, quiet, engine());
    el.requestSubmit();
    await tick(20);
    expect(quiet).toHaveBeenCalledTimes(1);
    expect(made()).toBe(0);
    dispose();

    let read: AbortSignal | undefined;
    const reading = vi.fn((context: GuardContext) => ((read = context.signal), new Promise<string>(() => undefined)));
    const disposeReading = guardForm(el, reading, engine());
    el.requestSubmit();
    await tick(20);
    expect(made()).toBe(1);
    expect(read!.aborted).toBe(false);
    disposeReading();
    await tick(5);
    expect(read!.aborted).toBe(true);
  });
});
