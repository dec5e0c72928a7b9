import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import './styles.css';

const root = document.getElementById('root');
if (!root) throw new Error('demo/index.html lost its #root element');
// StrictMode on purpose: its double effects must not send an order twice.
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
