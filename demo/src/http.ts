/**
 * The page's two HTTP clients: `shopApi` sends through submit-once, `plainApi` is the same
 * axios without it ("Protection off"). Both go through the demo's "Offline" switch.
 */
import axios, { AxiosError, getAdapter, type AxiosAdapter } from 'axios';
import { installIdempotency } from '../../src/axios/index.js';
import { createSubmitter } from '../../src/index.js';
import { createOutbox } from '../../src/outbox/index.js';
import { eventLog } from './event-log.js';

let offline = false;

/**
 * Orders placed while "Offline" wait here, in IndexedDB with their key, and are sent with
 * that key when the switch goes off (a real page replays on the browser's `online` event;
 * this switch is the page's own, so it says so itself), or on the next load.
 */
export const outbox = createOutbox({
  online: () => !offline,
  fetch: (request) => (offline ? Promise.reject(new TypeError('Network Error (demo: offline)')) : fetch(request)),
  onEvent: (event) => eventLog.outbox(event),
});

/** While on, every request fails as a dropped network would, without reaching the server. */
export function setOffline(value: boolean): void {
  offline = value;
  if (!value) void outbox.flush();
}

const network = getAdapter(axios.defaults.adapter);
const switchableNetwork: AxiosAdapter = (config) => {
  if (offline) return Promise.reject(new AxiosError('Network Error (demo: offline)', AxiosError.ERR_NETWORK, config));
  return network(config);
};

export const plainApi = axios.create({ adapter: switchableNetwork });

/**
 * Two engines, one per layer: the hook's finds the intent's key (new, or the one a reload
 * left in IndexedDB); the axios adapter's sends each attempt with that key and retries.
 * The log shows what each layer is for, not both layers' bookkeeping.
 */
export const intentEngine = createSubmitter({
  onEvent: (event) => {
    if (event.type === 'key-created' || event.type === 'key-reused' || event.type === 'joined') eventLog.record(event);
  },
});

export const shopApi = axios.create({ adapter: switchableNetwork });
installIdempotency(shopApi, {
  // Offline, or no answer after the retries: the order waits in the outbox, not lost, not doubled.
  outbox,
  queue: true,
  onEvent: (event) => {
    if (event.type !== 'key-created' && event.type !== 'key-reused' && event.type !== 'joined') eventLog.record(event);
  },
  // Quick retries keep the demo snappy; the defaults suit real networks.
  retry: { attempts: 4, baseDelay: 200, maxDelay: 1000 },
});

/** Server-side faults are set by requests; an order waits for the last one to land. */
let faultsInFlight: Promise<unknown> = Promise.resolve();

export function trackFaultUpdate(update: Promise<unknown>): void {
  faultsInFlight = Promise.allSettled([faultsInFlight, update]);
}

export function faultsSettled(): Promise<unknown> {
  return faultsInFlight;
}
