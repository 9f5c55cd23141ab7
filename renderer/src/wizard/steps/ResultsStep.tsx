import { Alert, Box, Button, Chip, IconButton, Stack, Table, TableBody, TableCell, TableHead, TableRow, Tooltip, Typography } from '@mui/material';
import FolderOpenIcon from '@mui/icons-material/FolderOpen';
import ReplayIcon from '@mui/icons-material/Replay';
import EditIcon from '@mui/icons-material/Edit';
import { formatBytes, formatDuration } from '../../../../shared/format.js';
import type { StudioErrorData } from '../../../../shared/errors.js';
import { lazy, Suspense, useState } from 'react';
import { useClient, useInfo } from '../../app/client-context.js';
import { MONO } from '../../app/theme.js';
import { CopyButton } from '../../components/CopyButton.js';
import { ErrorAlert } from '../../components/ErrorAlert.js';
import { useJobStore } from '../../store/job.js';
import { useWizardStore } from '../../store/wizard.js';
import { useSourceStore } from '../../store/source.js';
import { useOptionsStore } from '../../store/options.js';
import { useImagesStore } from '../../store/images.js';
import { dirname } from '../../store/paths.js';
import { tensorStatsOf } from '../calibration-data.js';
import { FidelityPanel } from '../FidelityPanel.js';
import { StickyFooter } from '../StickyFooter.js';
import { uncheckedText } from '../int8-unchecked.js';
import { int8UncheckedReason } from '../../../../shared/report.js';

// @mui/x-charts is most of the bundle and only needed here: load it on demand.
const CalibrationCharts = lazy(() => import('../CalibrationCharts.js').then((m) => ({ default: m.CalibrationCharts })));

export function ResultsStep() {
  const client = useClient();
  const artifacts = useJobStore((s) => s.artifacts);
  const report = useJobStore((s) => s.report);
  const [openError, setOpenError] = useState<StudioErrorData | null>(null);
  const stats = tensorStatsOf(report);
  const cal = report?.calibration;
  const info = useInfo();
  // A browser on another machine cannot open the server's folders: copy the path instead.
  const web = info?.mode !== 'electron';
  const unchecked = report ? int8UncheckedReason(report) : null;
  const reusedCache = cal?.reused ? artifacts.find((a) => a.role === 'cache')?.path : undefined;

  const openFolder = async (path: string) => {
    const r = await client.api.openFolder(dirname(path));
    setOpenError(r.ok ? null : r.error);
  };
  const startOver = () => {
    useJobStore.getState().reset();
    useSourceStore.getState().reset();
    useOptionsStore.getState().reset();
    useImagesStore.getState().reset();
    useWizardStore.getState().restart();
  };

  return (
    <Stack spacing={2}>
      {report && (
        <Typography color="text.secondary">
          {report.outcome === 'int8-below-target'
            ? `INT8 export wrote every file in ${formatDuration(report.seconds)}, but the INT8 model is below its target (see INT8 fidelity below).`
            : `${report.precision.toUpperCase()} export finished in ${formatDuration(report.seconds)}.`}
        </Typography>
      )}
      {unchecked !== null && (
        <Alert severity="warning" data-testid="result-int8-unchecked">
          {uncheckedText(unchecked)} Turn the check on and export again to know whether it meets its target.
        </Alert>
      )}
      <Table size="small" aria-label="Written files" data-testid="result-artifacts">
        <TableHead>
          <TableRow>
            <TableCell>Role</TableCell>
            <TableCell>Path</TableCell>
            <TableCell align="right">Size</TableCell>
            <TableCell>sha256</TableCell>
            <TableCell />
          </TableRow>
        </TableHead>
        <TableBody>
          {artifacts.map((a, i) => (
            <TableRow key={a.path} data-testid={`artifact-${i}`} data-role={a.role}>
              <TableCell>
                {a.role}
                {a.path === reusedCache && <Chip size="small" label="reused" color="info" variant="outlined" sx={{ ml: 1 }} data-testid={`artifact-reused-${i}`} />}
              </TableCell>
              <TableCell sx={{ fontFamily: MONO, wordBreak: 'break-all' }}>{a.path}</TableCell>
              <TableCell align="right" sx={{ whiteSpace: 'nowrap' }}>
                {formatBytes(a.bytes)}
              </TableCell>
              <TableCell sx={{ fontFamily: MONO, whiteSpace: 'nowrap' }}>
                <Tooltip title={a.sha256}>
                  <span>{a.sha256.slice(0, 12)}…</span>
                </Tooltip>
                <CopyButton icon text={a.sha256} label={`Copy sha256 of ${a.path}`} />
              </TableCell>
              <TableCell>
                {web ? (
                  <CopyButton text={a.path} label="Copy path" testId={`artifact-copy-path-${i}`} />
                ) : (
                  <Tooltip title="Open folder">
                    <IconButton size="small" aria-label={`Open the folder of ${a.path}`} onClick={() => void openFolder(a.path)} data-testid={`artifact-open-${i}`}>
                      <FolderOpenIcon fontSize="inherit" />
                    </IconButton>
                  </Tooltip>
                )}
              </TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
      {openError && <ErrorAlert error={openError} />}
      {report && report.warnings.length > 0 && (
        <Alert severity="warning" data-testid="result-warnings">
          <ul style={{ margin: 0, paddingLeft: 18 }}>
            {report.warnings.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        </Alert>
      )}
      {cal && (
        <Box data-testid="result-calibration">
          <Typography variant="subtitle1" component="h3">
            Calibration
          </Typography>
          <Typography variant="body2">
            {cal.reused ? `Reused the existing cache (${cal.reuseReason}).` : `${cal.algorithm} on ${cal.samplesUsed.toLocaleString()} of ${cal.samplesRequested.toLocaleString()} samples, ${cal.tensors} tensors, ${cal.executionProvider}, ${formatDuration(cal.seconds)}.`}
            {cal.skipped.map((s) => ` Skipped ${s.count}: ${s.reason}.`).join('')}
          </Typography>
        </Box>
      )}
      {stats.length > 0 && (
        <Suspense fallback={<Typography color="text.secondary">Loading charts…</Typography>}>
          <CalibrationCharts stats={stats} />
        </Suspense>
      )}
      {report?.fidelity && <FidelityPanel report={report.fidelity} />}
      <StickyFooter>
        <Button startIcon={<EditIcon />} onClick={() => useWizardStore.getState().goto('review')} data-testid="results-edit">
          Change and export again
        </Button>
        <Box sx={{ flex: 1 }} />
        <Button variant="contained" startIcon={<ReplayIcon />} onClick={startOver} data-testid="results-new">
          New export
        </Button>
      </StickyFooter>
    </Stack>
  );
}
