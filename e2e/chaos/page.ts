/**
 * Browser entry of the chaos page: the real SDK (`createIdempotentFetch` over a submitter
 * with its default IndexedDB store), driven by the runner through `window.chaos`.
 */
import { createSubmitter, isSubmitOnceError } from '../../src/index.js';
import { createIdempotentFetch, type IdempotentFetch } from '../../src/fetch/index.js';
import { ANSWERS_KEY, DELIVERED_KEY, type ChaosApi, type ClientOptions, type SubmitResult } from './page-api.js';

let send: IdempotentFetch | undefined;

function setup(options: ClientOptions): void {
  const submitter = createSubmitter({
    retry: { attempts: options.attempts, baseDelay: options.baseDelay, maxDelay: options.maxDelay },
    ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
  });
  send = createIdempotentFetch({ submitter });
}

/** Keeps an answer in sessionStorage (synchronous, survives a reload of this tab). */
function keepDelivered(result: SubmitResult, slot: number): void {
  const kept = JSON.parse(sessionStorage.getItem(DELIVERED_KEY) ?? '{}') as Record<string, SubmitResult>;
  kept[slot] = result;
  sessionStorage.setItem(DELIVERED_KEY, JSON.stringify(kept));
  const answers = JSON.parse(localStorage.getItem(ANSWERS_KEY) ?? '[]') as SubmitResult[];
  localStorage.setItem(ANSWERS_KEY, JSON.stringify([...answers, result]));
}

let slots = 0;

async function submit(url: string, body: unknown): Promise<SubmitResult> {
  if (!send) throw new Error('chaos.setup() first');
  const slot = slots++;
  const settled = (result: SubmitResult): SubmitResult => {
    keepDelivered(result, slot);
    return result;
  };
  let response: Response;
  try {
    response = await send(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  } catch (error) {
    if (isSubmitOnceError(error)) return settled({ kind: 'error', name: error.name, code: error.code, message: error.message });
    // Codes the SDK may grow (e.g. `outcome-unknown`) are read as they are, not filtered.
    const code = (error as { code?: unknown } | null)?.code;
    const name = error instanceof Error ? error.name : 'unknown';
    return settled({ kind: 'error', name, ...(typeof code === 'string' ? { code } : {}), message: error instanceof Error ? error.message : String(error) });
  }
  const handedOver = { kind: 'response', status: response.status, replayed: response.headers.get('idempotent-replayed') === 'true', body: undefined, unread: true } as const;
  keepDelivered(handedOver, slot);
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    // The status was handed over: that is the answer the user holds. Its body cut (by a
    // reload, or the network) must not turn it back into "no answer": the runner would then
    // submit again as if the user had none, past the settle window: a second order by design.
    return settled({ ...handedOver, bodyError: error instanceof Error ? error.message : String(error) });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const type = (json as { type?: unknown } | undefined)?.type;
  const { kind, status, replayed } = handedOver;
  return settled({
    kind,
    status,
    replayed,
    body: json ?? text.slice(0, 200),
    ...(typeof type === 'string' ? { problemType: type } : {}),
  });
}

const api: ChaosApi = {
  setup,
  submit,
  submitMany: (count, url, body) => Promise.all(Array.from({ length: count }, () => submit(url, body))),
};

window.chaos = api;
