import { Alert, AlertTitle, Box, Button, Stack, Typography } from '@mui/material';
import { formatError, formatLocation, type StudioErrorData } from '../../../shared/errors.js';
import { CopyButton } from './CopyButton.js';
import { MONO } from '../app/theme.js';
import { appHint, remediesFor, type Remedy } from './remedies.js';
import { useOptionsStore } from '../store/options.js';
import { useWizardStore } from '../store/wizard.js';
import { useJobStore } from '../store/job.js';

interface Props {
  error: StudioErrorData;
  title?: string;
  testId?: string;
  severity?: 'error' | 'warning';
  /** Offer the remedies as buttons (off where the wizard cannot act, e.g. a file browser). */
  actions?: boolean;
}

function applyRemedy(r: Remedy): void {
  const jobOver = useJobStore.getState().status !== 'running' && useJobStore.getState().status !== 'starting';
  switch (r.kind) {
    case 'overwrite':
      useOptionsStore.getState().setOutputs({ overwrite: true });
      if (jobOver) useWizardStore.getState().goto('review');
      break;
    case 'accept-fewer':
      useOptionsStore.getState().setCalibration({ acceptFewer: true });
      if (jobOver) useWizardStore.getState().goto('review');
      break;
    case 'goto':
      if (jobOver) useWizardStore.getState().goto(r.step);
      break;
  }
}

/** Message, hint, where (file:line:column or byte offset), the caret excerpt, Copy details. */
export function ErrorAlert({ error, title, testId = 'error-alert', severity = 'error', actions = true }: Props) {
  const where = formatLocation(error);
  const hint = appHint(error.hint);
  const remedies = actions ? remediesFor(error) : [];
  const step = useWizardStore((s) => s.step);
  return (
    <Alert severity={severity} data-testid={testId} data-code={error.code} sx={{ '& .MuiAlert-message': { width: '100%', minWidth: 0 } }}>
      <AlertTitle>{title ?? error.message}</AlertTitle>
      {title && <Typography variant="body2">{error.message}</Typography>}
      {where && (
        <Typography variant="body2" sx={{ fontFamily: MONO, mt: 0.5, wordBreak: 'break-all' }} data-testid="error-location">
          {where}
        </Typography>
      )}
      {error.excerpt && (
        <Box component="pre" data-testid="error-excerpt" sx={{ fontFamily: MONO, fontSize: 13, m: 0, mt: 1, p: 1, borderRadius: 1, bgcolor: 'action.hover', overflowX: 'auto', whiteSpace: 'pre' }}>
          {error.excerpt}
        </Box>
      )}
      <Stack direction="row" spacing={1} sx={{ mt: 1, alignItems: 'center', flexWrap: 'wrap' }}>
        <Typography variant="body2" sx={{ flex: 1, minWidth: 200 }} data-testid="error-hint">
          <strong>What to do: </strong>
          {hint.text}
        </Typography>
        {remedies
          .filter((r) => !(r.remedy.kind === 'goto' && r.remedy.step === step))
          .map((r) => (
            <Button key={r.label} size="small" variant="outlined" color="inherit" onClick={() => applyRemedy(r.remedy)} data-testid={`remedy-${r.remedy.kind === 'goto' ? r.remedy.step : r.remedy.kind}`}>
              {r.label}
            </Button>
          ))}
        <Typography variant="caption" sx={{ fontFamily: MONO, opacity: 0.8 }}>
          {error.code}
        </Typography>
        <CopyButton text={() => formatError(error)} label="Copy details" testId="error-copy" />
      </Stack>
    </Alert>
  );
}
