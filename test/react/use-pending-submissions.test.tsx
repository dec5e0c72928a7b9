// @vitest-environment jsdom
import { act, cleanup, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { usePendingSubmissions, type PendingSubmission, type PendingSubmissionsSource } from '../../src/react/index.js';

afterEach(cleanup);

/** An outbox's read side (`snapshot` + `watch`), changed by the test. */
function source() {
  let items: readonly PendingSubmission[] = [];
  const watchers = new Set<() => void>();
  const outbox: PendingSubmissionsSource & { set(next: readonly PendingSubmission[]): void } = {
    snapshot: () => items,
    watch: (onChange) => {
      watchers.add(onChange);
      return () => watchers.delete(onChange);
    },
    set(next) {
      items = next;
      for (const onChange of watchers) onChange();
    },
  };
  return outbox;
}

const item = (id: string): PendingSubmission => ({ id, key: id, fingerprint: `fp-${id}`, method: 'POST', url: '/orders', createdAt: 1, attempts: 0, nextAttemptAt: 1, state: 'queued' });

function Waiting({ outbox }: { outbox: PendingSubmissionsSource }) {
  const pending = usePendingSubmissions(outbox);
  return <output aria-label="waiting">{pending.length} waiting</output>;
}

describe('usePendingSubmissions', () => {
  it('shows the outbox snapshot and re-renders when it changes', () => {
    const outbox = source();
    render(<Waiting outbox={outbox} />);
    expect(screen.getByLabelText('waiting').textContent).toBe('0 waiting');
    act(() => outbox.set([item('a'), item('b')]));
    expect(screen.getByLabelText('waiting').textContent).toBe('2 waiting');
    act(() => outbox.set([item('b')]));
    expect(screen.getByLabelText('waiting').textContent).toBe('1 waiting');
  });
});
