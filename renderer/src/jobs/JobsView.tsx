import { Box, Button, Chip, LinearProgress, Paper, Stack, Table, TableBody, TableCell, TableContainer, TableHead, TableRow, Typography } from '@mui/material';
import { isFinalJobStatus, type JobSnapshot, type QueueJobStatus } from '../../../shared/api.js';
import { STAGE_LABELS } from '../../../shared/events.js';
import { formatDuration } from '../../../shared/format.js';
import { useClient } from '../app/client-context.js';
import { useJobStore } from '../store/job.js';
import { attachWizard, jobList, queuedText, useJobsStore } from '../store/jobs.js';
import { useWizardStore } from '../store/wizard.js';

const STATUS_COLOR: Record<QueueJobStatus, 'default' | 'info' | 'success' | 'error' | 'warning'> = {
  queued: 'default',
  starting: 'info',
  running: 'info',
  cancelling: 'warning',
  done: 'success',
  failed: 'error',
  crashed: 'error',
  cancelled: 'warning',
};

function basename(p: string): string {
  return p.split(/[\\/]/).pop() ?? p;
}

/** Fraction 0–1 of the job: finished stages plus the running stage's progress (skipped ones don't count). */
export function jobFraction(j: JobSnapshot): number {
  if (j.status === 'done') return 1;
  const relevant = j.stages.filter((s) => s.status !== 'skipped');
  if (relevant.length === 0) return 0;
  let done = relevant.filter((s) => s.status === 'done').length;
  const p = j.progress;
  if (p && p.total > 0 && relevant.some((s) => s.id === p.stage && s.status === 'running')) done += Math.min(1, p.done / p.total);
  return Math.min(1, done / relevant.length);
}

/** What the job is doing, in words: the running stage, whom a queued job waits for, or how it ended. */
export function jobStageText(j: JobSnapshot, all: Record<string, JobSnapshot>): string {
  if (j.status === 'queued') return queuedText(j.gpu, j.waitingFor ?? [], all);
  if (j.status === 'done') return 'finished';
  if (isFinalJobStatus(j.status)) return j.error ? `${j.status}: ${j.error.code}` : j.status;
  const running = j.stages.find((s) => s.status === 'running');
  return running ? STAGE_LABELS[running.id] : j.status === 'cancelling' ? 'cancelling…' : 'starting…';
}

/**
 * Every export of this host session (this tab's, another tab's, before a reload): model,
 * precision, GPU, stage, progress, ETA; cancel a live one, open one in the wizard, clear the
 * finished ones (their results and logs stay until then).
 */
export function JobsView() {
  const client = useClient();
  const jobs = useJobsStore((s) => s.jobs);
  const shown = useJobStore((s) => s.jobId);
  const list = jobList(jobs);
  if (list.length === 0) return null;
  const finished = list.filter((j) => isFinalJobStatus(j.status)).map((j) => j.jobId);
  // The wizard lets go of the job it shows (it keeps running, listed here) and returns to Review.
  const queueAnother = () => {
    useJobStore.getState().reset();
    useWizardStore.getState().goto('review');
  };
  const clear = async (ids: string[] | null) => {
    const r = await client.api.clearJobs(ids);
    if (r.ok) useJobsStore.getState().forget(ids);
  };

  return (
    <Paper component="section" sx={{ p: { xs: 1.5, md: 2 } }} aria-labelledby="jobs-title" data-testid="jobs-view">
      <Stack direction="row" sx={{ alignItems: 'center', mb: 1, gap: 1 }}>
        <Typography id="jobs-title" variant="h6" component="h2" sx={{ flex: 1 }}>
          Jobs
        </Typography>
        <Typography variant="body2" color="text.secondary" data-testid="jobs-summary">
          {list.filter((j) => !isFinalJobStatus(j.status) && j.status !== 'queued').length} running · {list.filter((j) => j.status === 'queued').length} queued · {finished.length} finished
        </Typography>
        {shown !== null && (
          <Button size="small" onClick={queueAnother} data-testid="jobs-queue-another" title="Back to Review with the same choices; this job keeps running here">
            Queue another export
          </Button>
        )}
        <Button size="small" onClick={() => void clear(null)} disabled={finished.length === 0} data-testid="jobs-clear">
          Clear finished
        </Button>
      </Stack>
      <TableContainer>
        <Table size="small" aria-label="Export jobs">
          <TableHead>
            <TableRow>
              <TableCell>Model</TableCell>
              <TableCell>Precision</TableCell>
              <TableCell>GPU</TableCell>
              <TableCell>Stage</TableCell>
              <TableCell sx={{ minWidth: 120 }}>Progress</TableCell>
              <TableCell>ETA</TableCell>
              <TableCell>Status</TableCell>
              <TableCell align="right">Actions</TableCell>
            </TableRow>
          </TableHead>
          <TableBody>
            {list.map((j) => {
              const live = !isFinalJobStatus(j.status);
              const pct = Math.round(jobFraction(j) * 100);
              const eta = j.progress?.eta;
              return (
                <TableRow key={j.jobId} data-testid={`job-row-${j.jobId}`} data-status={j.status} selected={j.jobId === shown}>
                  <TableCell sx={{ wordBreak: 'break-all' }} title={j.request.model}>
                    {basename(j.request.model)}
                    <Typography variant="caption" component="div" color="text.secondary" title={j.request.outputs.etlt}>
                      → {basename(j.request.outputs.etlt)}
                    </Typography>
                  </TableCell>
                  <TableCell>{j.request.precision.toUpperCase()}</TableCell>
                  <TableCell data-testid="job-gpu">{j.gpu === 'cpu' ? 'CPU' : j.gpu === null ? 'any' : j.gpu}</TableCell>
                  <TableCell data-testid="job-stage">{jobStageText(j, jobs)}</TableCell>
                  <TableCell>
                    <Box sx={{ display: 'flex', alignItems: 'center', gap: 1 }}>
                      <LinearProgress variant="determinate" value={pct} sx={{ flex: 1 }} aria-label={`Progress of ${basename(j.request.model)}`} />
                      <Typography variant="caption">{pct}%</Typography>
                    </Box>
                  </TableCell>
                  <TableCell>{live && eta !== undefined ? formatDuration(eta) : '—'}</TableCell>
                  <TableCell>
                    <Chip size="small" label={j.status} color={STATUS_COLOR[j.status]} data-testid="job-status" />
                  </TableCell>
                  <TableCell align="right" sx={{ whiteSpace: 'nowrap' }}>
                    {j.jobId !== shown && (
                      <Button size="small" onClick={() => attachWizard(j)} data-testid={`job-open-${j.jobId}`}>
                        Show
                      </Button>
                    )}
                    {live ? (
                      <Button size="small" color="warning" onClick={() => void client.api.cancelJob(j.jobId)} disabled={j.status === 'cancelling'} data-testid={`job-cancel-${j.jobId}`}>
                        Cancel
                      </Button>
                    ) : (
                      <Button size="small" onClick={() => void clear([j.jobId])} data-testid={`job-clear-${j.jobId}`}>
                        Clear
                      </Button>
                    )}
                  </TableCell>
                </TableRow>
              );
            })}
          </TableBody>
        </Table>
      </TableContainer>
    </Paper>
  );
}
