import { useEffect, useMemo, useState } from 'react';
import { Alert, Box, Button, Link, Stack, Table, TableBody, TableCell, TableRow, Typography } from '@mui/material';
import PlayArrowIcon from '@mui/icons-material/PlayArrow';
import ArrowBackIcon from '@mui/icons-material/ArrowBack';
import type { ExportRequestInput } from '../../../../shared/request.js';
import type { StudioErrorData } from '../../../../shared/errors.js';
import { KEY_MASK, redact } from '../../../../shared/redact.js';
import { useClient, useInfo } from '../../app/client-context.js';
import { MONO } from '../../app/theme.js';
import { CopyButton } from '../../components/CopyButton.js';
import { ErrorAlert } from '../../components/ErrorAlert.js';
import { useOptionsStore } from '../../store/options.js';
import { useSourceStore } from '../../store/source.js';
import { useImagesStore } from '../../store/images.js';
import { useFidelityOption } from '../FidelityPanel.js';
import { useInt8TargetOption } from '../Int8Target.js';
import { useWizardStore } from '../../store/wizard.js';
import { buildRequest, validateRequest } from '../../store/request.js';
import { STEP_LABELS } from '../../store/steps.js';
import { startExport, withFidelityOptions } from '../actions.js';

function calibrationText(r: ExportRequestInput): string {
  const c = r.calibration;
  if (!c) return '—';
  const src =
    c.source === 'image-dir'
      ? `all images in ${c.imageDir}`
      : c.source === 'images'
        ? `${c.images?.length ?? 0} selected images`
        : c.source === 'tensorfile'
          ? `tensorfile ${c.tensorfile}${c.writeTensorfile ? ' (create)' : ''}`
          : c.source === 'cache'
            ? `existing cache ${r.outputs.cache ?? ''}`
            : "the spec's data loader";
  if (c.source === 'cache') return src;
  return `${src}; ${c.batches} × ${c.batchSize}, seed ${c.seed}, ${c.algorithm}${c.algorithm === 'percentile' ? ` ${c.percentile}` : ''}, ${c.resize}`;
}

export function ReviewStep() {
  const client = useClient();
  const info = useInfo();
  const source = useSourceStore();
  const options = useOptionsStore();
  const images = useImagesStore();
  const fidelity = useFidelityOption();
  const target = useInt8TargetOption();
  const request = useMemo(() => withFidelityOptions(buildRequest(source, options, images)), [source, options, images, fidelity, target]);
  const issues = validateRequest(request);
  const [command, setCommand] = useState<string | null>(null);
  const [cmdError, setCmdError] = useState<StudioErrorData | null>(null);
  const precision = options.precision;

  useEffect(() => {
    let live = true;
    void client.api.commandFor(request).then((r) => {
      if (!live) return;
      if (r.ok) {
        // The host masks the key already; masking again here costs nothing.
        setCommand(redact(r.value, [request.key]));
        setCmdError(null);
      } else setCmdError(r.error);
    });
    return () => {
      live = false;
    };
  }, [client, request]);

  const outputs = [
    request.outputs.etlt,
    request.outputs.qdq,
    request.outputs.cache,
    request.outputs.dsConfig ? 'nvinfer_config.txt + labels.txt (beside the model)' : undefined,
  ].filter((x): x is string => Boolean(x));
  const rows: [string, React.ReactNode][] = [
    ['Model', request.model],
    ['Key', request.key ? KEY_MASK : '(none)'],
    ['Spec', request.spec ?? `none — preset ${request.preprocessing?.preset ?? 'tao-maskrcnn'}`],
    ['Precision', (request.precision ?? 'fp32').toUpperCase()],
    ['Calibration', calibrationText(request)],
    ['Outputs', outputs.map((o) => <div key={o}>{o}</div>)],
    ['Device', request.gpu === 'cpu' ? 'CPU' : `GPU ${request.gpu ?? 0}`],
    ['Existing files', request.overwrite ? 'overwrite' : 'keep (fail if present)'],
  ];

  return (
    <Stack spacing={2}>
      <Table size="small" aria-label="Export summary" data-testid="review-summary">
        <TableBody>
          {rows.map(([k, v]) => (
            <TableRow key={k}>
              <TableCell component="th" scope="row" sx={{ width: 160, color: 'text.secondary', verticalAlign: 'top' }}>
                {k}
              </TableCell>
              <TableCell sx={{ fontFamily: k === 'Model' || k === 'Outputs' ? MONO : undefined, wordBreak: 'break-all' }}>{v}</TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
      {issues.length > 0 && (
        <Alert severity="error" data-testid="review-issues">
          The request is not complete:
          <ul style={{ margin: '4px 0' }}>
            {issues.map((i) => (
              <li key={i.path + i.message}>
                {i.path}: {i.message} —{' '}
                <Link component="button" onClick={() => useWizardStore.getState().goto(i.step)}>
                  go to {STEP_LABELS[i.step]}
                </Link>
              </li>
            ))}
          </ul>
        </Alert>
      )}
      <Typography variant="subtitle1" component="h3">
        Equivalent command
      </Typography>
      {cmdError ? (
        <ErrorAlert error={cmdError} />
      ) : (
        <Box sx={{ position: 'relative' }}>
          <Box
            component="pre"
            data-testid="review-command"
            aria-label="Equivalent CLI command"
            sx={{ fontFamily: MONO, fontSize: 13, p: 1.5, pr: 6, m: 0, borderRadius: 1, bgcolor: 'action.hover', whiteSpace: 'pre-wrap', overflowWrap: 'anywhere', minHeight: 40 }}
          >
            {command ?? '…'}
          </Box>
          <Box sx={{ position: 'absolute', top: 4, right: 4 }}>
            <CopyButton icon text={command ?? ''} label="Copy command" testId="review-copy" />
          </Box>
        </Box>
      )}
      <Box sx={{ display: 'flex', gap: 1 }}>
        <Button startIcon={<ArrowBackIcon />} onClick={() => useWizardStore.getState().back(precision)} data-testid="wizard-back">
          Back
        </Button>
        <Box sx={{ flex: 1 }} />
        <Button
          variant="contained"
          size="large"
          startIcon={<PlayArrowIcon />}
          disabled={issues.length > 0}
          onClick={() => void startExport(client, { canStoreKeys: info?.canStoreKeys ?? false })}
          data-testid="start-export"
        >
          Start export
        </Button>
      </Box>
    </Stack>
  );
}
