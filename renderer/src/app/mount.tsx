import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import type { StudioClient } from '../api/client.js';
import { App } from './App.js';

export function mount(client: StudioClient | { error: string }): void {
  const el = document.getElementById('root');
  if (!el) throw new Error('#root missing from index.html');
  if ('error' in client) {
    // No MUI here: the page may not even have a server to talk to.
    const p = document.createElement('p');
    p.setAttribute('role', 'alert');
    p.setAttribute('data-testid', 'fatal-error');
    p.style.cssText = 'font: 16px system-ui, sans-serif; margin: 3rem auto; max-width: 40rem;';
    p.textContent = client.error;
    el.replaceChildren(p);
    return;
  }
  createRoot(el).render(
    <StrictMode>
      <App client={client} />
    </StrictMode>,
  );
}
