/** The fault switches: three live on the server, "Offline" in this page. */
import { useCallback, useEffect, useState } from 'react';
import { NO_FAULTS, type Faults } from '../shared/catalog.js';
import { eventLog } from './event-log.js';
import { plainApi, setOffline, trackFaultUpdate } from './http.js';

export type FaultName = keyof Faults | 'offline';
export type FaultState = Faults & { readonly offline: boolean };

/** The switches as the page shows them: the label names the fault, the hint describes it. */
export const FAULT_SWITCHES: readonly { readonly name: FaultName; readonly label: string; readonly hint: string }[] = [
  { name: 'loseResponse', label: 'Lose response after storing', hint: 'the order is saved, then the connection drops' },
  { name: 'slow', label: 'Slow server', hint: 'orders take 1.5 s: double-click, or reload meanwhile' },
  { name: 'fail503', label: 'Fail first attempt with 503', hint: 'nothing is saved; the retry succeeds' },
  { name: 'offline', label: 'Offline', hint: 'orders wait in the outbox and are sent, with their key, when it goes off' },
];

/** The label the user ticked: the log speaks of what is on the screen, not of internal ids. */
function labelOf(name: FaultName): string {
  return FAULT_SWITCHES.find((entry) => entry.name === name)?.label ?? name;
}

export function useFaults() {
  const [faults, setFaults] = useState<FaultState>({ ...NO_FAULTS, offline: false });

  useEffect(() => {
    let live = true;
    // The server's switches survive a reload of the page: show them as they are.
    const load = plainApi.get<Faults>('/api/faults', { adapter: 'fetch' }).then(({ data }) => {
      if (live) setFaults((current) => ({ ...current, ...data }));
    });
    trackFaultUpdate(load);
    return () => {
      live = false;
    };
  }, []);

  const toggle = useCallback((name: FaultName, on: boolean) => {
    setFaults((current) => ({ ...current, [name]: on }));
    eventLog.note(`fault “${labelOf(name)}” ${on ? 'on' : 'off'}`);
    if (name === 'offline') {
      setOffline(on);
      return;
    }
    trackFaultUpdate(plainApi.post('/api/faults', { [name]: on }, { adapter: 'fetch' }));
  }, []);

  return { faults, toggle };
}
