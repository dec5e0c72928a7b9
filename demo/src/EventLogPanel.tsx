import { useSyncExternalStore } from 'react';
import { eventLog } from './event-log.js';

export function EventLogPanel() {
  const entries = useSyncExternalStore(eventLog.subscribe, eventLog.snapshot);
  return (
    <section className="card" aria-labelledby="log-title">
      <h2 id="log-title">What submit-once did</h2>
      {entries.length === 0 && <p className="muted">Events of the SDK appear here, newest first.</p>}
      <ol className="log" aria-label="Event log">
        {entries.map((entry) => (
          <li key={entry.id} className={entry.tone}>
            <time>{new Date(entry.at).toLocaleTimeString()}</time>
            {entry.key && <code>{entry.key.slice(0, 8)}</code>}
            <span>{entry.text}</span>
            {entry.count > 1 && <strong className="count">×{entry.count}</strong>}
          </li>
        ))}
      </ol>
    </section>
  );
}
