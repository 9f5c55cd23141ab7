import { Box, CircularProgress, Stack, Typography } from '@mui/material';
import CheckCircleIcon from '@mui/icons-material/CheckCircle';
import type { CheckState } from '../store/source.js';

/** "Checking…" / "✓ <ok text> in N ms" line; errors are shown by ErrorAlert instead. */
export function CheckStatus({ check, okText, testId }: { check: CheckState; okText: string; testId: string }) {
  if (check.status === 'checking') {
    return (
      <Stack direction="row" spacing={1} sx={{ alignItems: 'center', height: 24 }} data-testid={testId} data-status="checking" role="status">
        <CircularProgress size={16} aria-label="Checking" />
        <Typography variant="body2">Checking…</Typography>
      </Stack>
    );
  }
  if (check.status === 'ok') {
    return (
      <Stack direction="row" spacing={1} sx={{ alignItems: 'center', height: 24 }} data-testid={testId} data-status="ok" role="status">
        <CheckCircleIcon color="success" fontSize="small" />
        <Typography variant="body2">
          {okText} in {check.ms} ms
        </Typography>
      </Stack>
    );
  }
  // Keep the line's height while idle: a status line appearing on blur would shift the buttons
  // below between mousedown and mouseup, and the click on them would be lost.
  return <Box sx={{ height: 24 }} aria-hidden data-testid={testId} data-status={check.status} />;
}
