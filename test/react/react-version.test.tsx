// @vitest-environment jsdom
// Proves which React each vitest project really runs (vite.config.ts sets REACT_MAJOR):
// if the react18 project's aliases broke, its React tests would silently run on React 19.
import { render, screen } from '@testing-library/react';
import { useState, version } from 'react';
import { version as domVersion } from 'react-dom';
import { expect, it } from 'vitest';

const expected = process.env.REACT_MAJOR;

it('runs the React tests on the React the project names', () => {
  expect(expected).toMatch(/^1[89]$/);
  expect(version.split('.')[0]).toBe(expected);
  expect(domVersion.split('.')[0]).toBe(expected);
});

it('@testing-library/react renders with that same React (one copy: hooks work)', () => {
  function Hello() {
    const [text] = useState('hello');
    return <output aria-label="hello">{text}</output>;
  }
  render(<Hello />);
  expect(screen.getByLabelText('hello').textContent).toBe('hello');
});
