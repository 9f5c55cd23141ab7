import { useEffect, useState } from 'react';
import { Alert, Box, Button, CircularProgress, LinearProgress, List, ListItem, ListItemIcon, ListItemText, Stack, Typography } from '@mui/material';
import CheckCircleIcon from '@mui/icons-material/CheckCircle';
import RadioButtonUncheckedIcon from '@mui/icons-material/RadioButtonUnchecked';
import RemoveCircleOutlineIcon from '@mui/icons-material/RemoveCircleOutlineOutlined';
import ErrorIcon from '@mui/icons-material/Error';
import StopIcon from '@mui/icons-material/Stop';
import StopCircleIcon from '@mui/icons-material/StopCircle';
import ArrowForwardIcon from '@mui/icons-material/ArrowForward';
import ArrowBackIcon from '@mui/icons-material/ArrowBack';
import { formatBytes, formatDuration } from '../../../../shared/format.js';
import { STAGE_LABELS } from '../../../../shared/events.js';
import { int8UncheckedReason } from '../../../../shared/report.js';
import { uncheckedText } from '../int8-unchecked.js';
import { useClient } from '../../app/client-context.js';
import { ErrorAlert } from '../../components/ErrorAlert.js';
import type { JobSnapshot } from '../../../../shared/api.js';
import { overallFraction, useJobStore, type JobState, type StageState } from '../../store/job.js';
import { queuedText, useJobsStore } from '../../store/jobs.js';
import { useWizardStore } from '../../store/wizard.js';
import { cancelExport } from '../actions.js';
import { LogView } from '../LogView.js';
import { StickyFooter } from '../StickyFooter.js';

function StageIcon({ s }: { s: StageState }) {
  switch (s.status) {
    case 'done':
      return s.alert ? <ErrorIcon color="error" aria-label="Below target" /> : <CheckCircleIcon color="success" />;
    case 'running':
      return <CircularProgress size={20} disableShrink aria-label="Running" />;
    case 'skipped':
      return <RemoveCircleOutlineIcon color="disabled" />;
    case 'failed':
      return <ErrorIcon color="error" />;
    case 'cancelled':
      return <StopCircleIcon color="warning" />;
    default:
      return <RadioButtonUncheckedIcon color="disabled" />;
  }
}

/** "12.5 MiB / 170 MiB" for bytes, "45 %" for a stage planned in seconds of work, "3 / 10 batches" otherwise. */
export function progressAmount(done: number, total: number, unit: string): string {
  if (unit === '%') return `${done} %`;
  return unit === 'bytes' ? `${formatBytes(done)} / ${formatBytes(total)}` : `${done.toLocaleString()} / ${total.toLocaleString()} ${unit}`;
}

/** "48.2 MiB/s" for bytes, "1.25 batches/s" otherwise. */
export function progressRate(rate: number, unit: string): string {
  return unit === 'bytes' ? `${formatBytes(rate)}/s` : `${rate.toFixed(rate < 10 ? 2 : 0)} ${unit}/s`;
}

function duration(s: StageState): string {
  return s.startedAt !== undefined && s.endedAt !== undefined ? formatDuration((s.endedAt - s.startedAt) / 1000) : '';
}

/** The ETA as the user should read it now: the last estimate, counted down since it arrived. */
export function shownEta(p: JobState['progress'], now: number): number | undefined {
  if (p?.eta === undefined) return undefined;
  return Math.max(0, p.eta - Math.max(0, now - (p.etaAt ?? now)) / 1000);
}

/** Re-renders every second while an ETA is shown, so it counts down between progress events. */
function useNow(ticking: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!ticking) return undefined;
    const id = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(id);
  }, [ticking]);
  return now;
}

/** What the job is at: 'queued' while the host's queue holds it back (the store keeps it 'running'). */
export function runPhase(job: JobState): JobState['status'] | 'queued' {
  return job.status === 'running' && job.queued ? 'queued' : job.status;
}

/** The line above the progress bar: queued (and for what), the running stage's progress, or how it ended. */
export function statusText(job: JobState, registry: Record<string, JobSnapshot>, now = Date.now()): string {
  const p = job.progress;
  const eta = shownEta(p, now);
  if (job.status === 'starting') return 'Starting…';
  if (runPhase(job) === 'queued' && job.queued) return `Queued: ${queuedText(job.queued.gpu, job.queued.waitingFor, registry)}`;
  if (p) return `${STAGE_LABELS[p.stage]}: ${progressAmount(p.done, p.total, p.unit)}` + (p.rate !== undefined ? ` · ${progressRate(p.rate, p.unit)}` : '') + (eta !== undefined ? ` · ETA ${formatDuration(eta)}` : '');
  if (job.status === 'done') return 'Finished';
  if (job.status === 'failed') return 'Failed';
  if (job.status === 'cancelled') return 'Cancelled';
  return job.stages.find((s) => s.status === 'running')?.label ?? '';
}

export function RunStep() {
  const client = useClient();
  const job = useJobStore();
  const fraction = overallFraction(job);
  const active = job.status === 'running' || job.status === 'starting';
  const belowTarget = job.report?.outcome === 'int8-below-target';
  // An INT8 with no verdict is not a pass: the run ends amber, saying why it was not checked.
  const unchecked = job.report ? int8UncheckedReason(job.report) : null;
  // Queued by the host (its device is busy): not running yet; say what it waits for.
  const registry = useJobsStore((s) => s.jobs);
  const phase = runPhase(job);
  const queued = phase === 'queued' ? job.queued : null;
  const now = useNow(active && job.progress?.eta !== undefined);

  return (
    <Stack spacing={2}>
      <Box>
        <Stack direction="row" spacing={1} sx={{ alignItems: 'baseline', mb: 0.5 }}>
          <Typography variant="body2" sx={{ flex: 1 }} data-testid="progress-text" role="status">
            {statusText(job, registry, now)}
          </Typography>
          <Typography variant="body2" color="text.secondary">
            {Math.round(fraction * 100)}%
          </Typography>
        </Stack>
        <LinearProgress
          variant={job.status === 'starting' ? 'indeterminate' : 'determinate'}
          value={fraction * 100}
          color={job.status === 'failed' || belowTarget ? 'error' : job.status === 'done' ? (unchecked !== null ? 'warning' : 'success') : 'primary'}
          aria-label="Export progress"
          data-testid="progress-bar"
          data-status={phase}
          sx={{ height: 8, borderRadius: 4 }}
        />
      </Box>
      <Box sx={{ display: 'grid', gridTemplateColumns: { xs: '1fr', md: '280px minmax(0, 1fr)' }, gap: 2, alignItems: 'start' }}>
        <List dense aria-label="Stages" data-testid="run-stages" sx={{ border: 1, borderColor: 'divider', borderRadius: 1 }}>
          {job.stages.map((s) => (
            <ListItem key={s.id} data-testid={`stage-${s.id}`} data-status={s.status} data-alert={s.alert ? 'true' : undefined}>
              <ListItemIcon sx={{ minWidth: 36 }}>
                <StageIcon s={s} />
              </ListItemIcon>
              <ListItemText
                primary={s.label}
                secondary={[s.status === 'pending' ? null : s.status, duration(s), s.detail].filter(Boolean).join(' · ')}
                slotProps={{ primary: { sx: { color: s.status === 'skipped' || s.status === 'pending' ? 'text.secondary' : 'text.primary' } } }}
              />
            </ListItem>
          ))}
        </List>
        <LogView lines={job.log} dropped={job.logDropped} height={470} />
      </Box>
      {queued && (
        <Alert severity="info" data-testid="run-queued">
          Queued, not running yet: {queuedText(queued.gpu, queued.waitingFor, registry)}. It starts as soon as that device is free; Cancel takes it off the queue.
        </Alert>
      )}
      {job.status === 'failed' && job.error && <ErrorAlert error={job.error} title="The export failed" />}
      {job.status === 'cancelled' && (
        <Alert severity="info" data-testid="run-cancelled">
          Cancelled. {job.error?.hint}
        </Alert>
      )}
      {job.status === 'done' && (
        <Alert severity={belowTarget ? 'error' : unchecked !== null ? 'warning' : 'success'} data-testid="run-done" data-outcome={unchecked !== null ? 'int8-unchecked' : (job.report?.outcome ?? 'success')}>
          {belowTarget
            ? `INT8 below target: ${job.artifacts.length} file(s) written, but ${job.report?.fidelity?.verdict?.summary.replace(/^INT8 below target: /, '') ?? 'the INT8 model misses its target'}. See Results for the next step.`
            : `Export finished${job.report ? ` in ${formatDuration(job.report.seconds)}` : ''}: ${job.artifacts.length} file(s) written.${unchecked !== null ? ` ${uncheckedText(unchecked)}` : ''}`}
        </Alert>
      )}
      <StickyFooter>
        {!active && (
          <Button startIcon={<ArrowBackIcon />} onClick={() => useWizardStore.getState().goto('review')} data-testid="run-back">
            Back to review
          </Button>
        )}
        <Box sx={{ flex: 1 }} />
        {active && (
          <Button color="error" variant="outlined" startIcon={<StopIcon />} onClick={() => void cancelExport(client)} disabled={!job.jobId} data-testid="run-cancel">
            Cancel
          </Button>
        )}
        {job.status === 'done' && (
          <Button variant="contained" endIcon={<ArrowForwardIcon />} onClick={() => useWizardStore.getState().goto('results')} data-testid="run-results">
            View results
          </Button>
        )}
      </StickyFooter>
    </Stack>
  );
}

