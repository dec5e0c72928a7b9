import { FAULT_SWITCHES, type FaultName, type FaultState } from './faults.js';

interface FaultPanelProps {
  faults: FaultState;
  onToggle: (name: FaultName, on: boolean) => void;
  protectionOff: boolean;
  onProtectionOff: (off: boolean) => void;
}

/**
 * Each hint sits outside its label and is tied to the checkbox with `aria-describedby`:
 * inside the label a screen reader would read it as part of the checkbox's name.
 */
export function FaultPanel({ faults, onToggle, protectionOff, onProtectionOff }: FaultPanelProps) {
  return (
    <section className="card" aria-labelledby="faults-title">
      <h2 id="faults-title">Faults</h2>
      <ul className="switches">
        {FAULT_SWITCHES.map(({ name, label, hint }) => (
          <li key={name}>
            <label>
              <input
                type="checkbox"
                checked={faults[name]}
                aria-describedby={`fault-${name}-hint`}
                onChange={(event) => onToggle(name, event.target.checked)}
              />
              <span>{label}</span>
            </label>
            <small id={`fault-${name}-hint`} className="hint">
              {hint}
            </small>
          </li>
        ))}
      </ul>
      <div className={`protection ${protectionOff ? 'off' : 'on'}`}>
        <label>
          <input
            type="checkbox"
            checked={protectionOff}
            aria-describedby="protection-hint"
            onChange={(event) => onProtectionOff(event.target.checked)}
          />
          <span>Protection off</span>
        </label>
        <small id="protection-hint" className="hint">
          {protectionOff ? 'plain axios: every click posts, no key' : 'submit-once is on: one intent, one order'}
        </small>
      </div>
    </section>
  );
}
