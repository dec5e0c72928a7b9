/** The switch between client-minted keys and server-issued one-time tokens. */
export function TokenModeSwitch({ on, onChange }: { on: boolean; onChange: (on: boolean) => void }) {
  return (
    <div className="protection on">
      <label>
        <input type="checkbox" checked={on} aria-describedby="token-mode-hint" onChange={(event) => onChange(event.target.checked)} />
        <span>Token mode</span>
      </label>
      <small id="token-mode-hint" className="hint">
        {on ? 'keys are one-time tokens the server issued (fetched ahead); it refuses any other key' : 'keys are UUIDs minted in the page'}
      </small>
    </div>
  );
}
