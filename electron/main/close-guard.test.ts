import { describe, expect, it } from 'vitest';
import { closeDialogOptions, liveJobCounts } from './close-guard.js';

describe('closing the window with exports in progress', () => {
  it('counts running (starting, running, cancelling) and queued jobs; finished ones do not count', () => {
    const st = ['queued', 'starting', 'running', 'cancelling', 'done', 'failed', 'cancelled', 'crashed', 'queued'] as const;
    expect(liveJobCounts(st.map((status) => ({ status })))).toEqual({ running: 3, queued: 2 });
  });

  it('asks only when something would be cancelled, defaulting to keep running', () => {
    expect(closeDialogOptions({ running: 0, queued: 0 })).toBeNull();
    const one = closeDialogOptions({ running: 1, queued: 0 });
    expect(one).toMatchObject({ defaultId: 1, cancelId: 1, message: '1 export is running. Quit and cancel it?' });
    expect(one?.buttons[0]).toMatch(/Cancel exports/);
    expect(closeDialogOptions({ running: 2, queued: 3 })?.message).toBe('2 exports are running and 3 are queued. Quit and cancel them?');
  });
});
