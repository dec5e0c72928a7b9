/** The fault switches: three live on the server, "Offline" in this page. */
import { useCallback, useEffect, useState } from 'react';
import { NO_FAULTS, type Faults } from '../shared/catalog.js';
import { eventLog } from './event-log.js';
import { plainApi, setOffline, trackFaultUpdate } from './http.js';

export type FaultName = keyof Faults | 'offline';
export type FaultState = Faults & { readonly offline: boolean };

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
    eventLog.note(`fault "${name}" ${on ? 'on' : 'off'}`);
    if (name === 'offline') {
      setOffline(on);
      return;
    }
    trackFaultUpdate(plainApi.post('/api/faults', { [name]: on }, { adapter: 'fetch' }));
  }, []);

  return { faults, toggle };
}
