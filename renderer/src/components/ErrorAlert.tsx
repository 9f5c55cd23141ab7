import { Alert, AlertTitle, Box, Stack, Typography } from '@mui/material';
import { formatError, formatLocation, type StudioErrorData } from '../../../shared/errors.js';
import { CopyButton } from './CopyButton.js';
import { MONO } from '../app/theme.js';

interface Props {
  error: StudioErrorData;
  title?: string;
  testId?: string;
  severity?: 'error' | 'warning';
}

/** Message, hint, where (file:line:column or byte offset), the caret excerpt, Copy details. */
export function ErrorAlert({ error, title, testId = 'error-alert', severity = 'error' }: Props) {
  const where = formatLocation(error);
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
          {error.hint}
        </Typography>
        <Typography variant="caption" sx={{ fontFamily: MONO, opacity: 0.8 }}>
          {error.code}
        </Typography>
        <CopyButton text={() => formatError(error)} label="Copy details" testId="error-copy" />
      </Stack>
    </Alert>
  );
}
