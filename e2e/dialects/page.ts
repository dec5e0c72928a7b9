/** Browser entry of the dialects page: the SDK's fetch and axios adapters, driven by e2e/dialects.spec.ts. */
import axios, { isAxiosError } from 'axios';
import { isSubmitOnceError, type KeyReusedMatch } from '../../src/index.js';
import { createIdempotentFetch, type IdempotentFetch } from '../../src/fetch/index.js';
import { installIdempotency } from '../../src/axios/index.js';

export interface DialectSetup {
  keyReused?: number[];
  settleWindow?: number;
  /** Per-attempt timeout (ms): an attempt given up while the handler still runs. */
  timeout?: number;
}

export type DialectOutcome =
  | { ok: true; status: number; body: unknown }
  | { ok: false; name: string; code?: string; status?: number };

export interface DialectsPageApi {
  setup(options?: DialectSetup): void;
  fetch(path: string, body: unknown, key?: string): Promise<DialectOutcome>;
  axios(path: string, body: unknown, key?: string): Promise<DialectOutcome>;
}

declare global {
  interface Window {
    dialects: DialectsPageApi;
  }
}

let viaFetch: IdempotentFetch = createIdempotentFetch();
let api = axios.create();

function failure(error: unknown): DialectOutcome {
  if (isSubmitOnceError(error)) {
    const status = (error as { status?: unknown }).status;
    return { ok: false, name: error.name, code: error.code, ...(typeof status === 'number' ? { status } : {}) };
  }
  if (isAxiosError(error) && error.response) return { ok: true, status: error.response.status, body: error.response.data as unknown };
  return { ok: false, name: error instanceof Error ? error.name : String(error) };
}

window.dialects = {
  setup(options = {}) {
    const keyReused: KeyReusedMatch | undefined = options.keyReused;
    const { settleWindow, timeout } = options;
    const common = {
      ...(keyReused ? { keyReused } : {}),
      ...(settleWindow === undefined ? {} : { settleWindow }),
      ...(timeout === undefined ? {} : { timeout }),
    };
    viaFetch = createIdempotentFetch(common);
    api = axios.create();
    installIdempotency(api, common);
  },
  async fetch(path, body, key) {
    try {
      const response = await viaFetch(path, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        ...(key ? { idempotency: { key } } : {}),
      });
      const text = await response.text();
      return { ok: true, status: response.status, body: response.headers.get('content-type')?.includes('json') ? (JSON.parse(text) as unknown) : text };
    } catch (error) {
      return failure(error);
    }
  },
  async axios(path, body, key) {
    try {
      const response = await api.post(path, body, key ? { idempotency: { key } } : {});
      return { ok: true, status: response.status, body: response.data as unknown };
    } catch (error) {
      return failure(error);
    }
  },
};
