import type { FaultName, FaultState } from './faults.js';

const SWITCHES: readonly { name: FaultName; label: string; hint: string }[] = [
  { name: 'loseResponse', label: 'Lose response after storing', hint: 'the order is saved, then the connection drops' },
  { name: 'slow', label: 'Slow server', hint: 'orders take 1.5 s: double-click, or reload meanwhile' },
  { name: 'fail503', label: 'Fail first attempt with 503', hint: 'nothing is saved; the retry succeeds' },
  { name: 'offline', label: 'Offline', hint: 'requests fail in the browser, never reaching the server' },
];

interface FaultPanelProps {
  faults: FaultState;
  onToggle: (name: FaultName, on: boolean) => void;
  protectionOff: boolean;
  onProtectionOff: (off: boolean) => void;
}

export function FaultPanel({ faults, onToggle, protectionOff, onProtectionOff }: FaultPanelProps) {
  return (
    <section className="card" aria-labelledby="faults-title">
      <h2 id="faults-title">Faults</h2>
      <ul className="switches">
        {SWITCHES.map(({ name, label, hint }) => (
          <li key={name}>
            <label>
              <input type="checkbox" checked={faults[name]} onChange={(event) => onToggle(name, event.target.checked)} />
              <span>
                {label}
                <small>{hint}</small>
              </span>
            </label>
          </li>
        ))}
      </ul>
      <label className={`protection ${protectionOff ? 'off' : 'on'}`}>
        <input type="checkbox" checked={protectionOff} onChange={(event) => onProtectionOff(event.target.checked)} />
        <span>
          Protection off
          <small>{protectionOff ? 'plain axios: every click posts, no key' : 'submit-once is on: one intent, one order'}</small>
        </span>
      </label>
    </section>
  );
}
