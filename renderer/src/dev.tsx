import './app/no-eval.js';
import { createMockClient } from './api/mock.js';
import { mount } from './app/mount.js';

// Dev page only (renderer/dev.html): fake data and a simulated job, no server.
const q = new URLSearchParams(window.location.search);
const speed = Number(q.get('speed') ?? '1');
const theme = q.get('theme');
mount(
  createMockClient({
    speed: Number.isFinite(speed) ? speed : 1,
    ...(theme === 'dark' || theme === 'light' ? { settings: { theme } } : {}),
  }),
);
