import type { JobSnapshot } from '../../shared/api.js';
import { isFinalJobStatus } from '../../shared/api.js';

/** What closing the window would stop: exports running and queued (they are cancelled on quit). */
export function liveJobCounts(jobs: readonly Pick<JobSnapshot, 'status'>[]): { running: number; queued: number } {
  let running = 0;
  let queued = 0;
  for (const j of jobs) {
    if (j.status === 'queued') queued++;
    else if (!isFinalJobStatus(j.status)) running++;
  }
  return { running, queued };
}

/**
 * The question the window asks before closing cancels exports (dialog.showMessageBox options;
 * button 0 cancels them and closes, button 1 — the default and Esc — keeps the window open).
 * null when nothing would be lost.
 */
export function closeDialogOptions(counts: { running: number; queued: number }): {
  type: 'warning';
  buttons: string[];
  defaultId: number;
  cancelId: number;
  title: string;
  message: string;
  detail: string;
} | null {
  const { running, queued } = counts;
  if (running + queued === 0) return null;
  const parts = [running ? `${running} export${running === 1 ? ' is' : 's are'} running` : '', queued ? `${queued} ${queued === 1 ? 'is' : 'are'} queued` : ''].filter(Boolean);
  return {
    type: 'warning',
    buttons: ['Cancel exports and quit', 'Keep running'],
    defaultId: 1,
    cancelId: 1,
    title: 'Exports in progress',
    message: `${parts.join(' and ')}. Quit and cancel ${running + queued === 1 ? 'it' : 'them'}?`,
    detail: 'Cancelled exports leave no partial files; their finished outputs are not affected. Choose “Keep running” to let them finish.',
  };
}
