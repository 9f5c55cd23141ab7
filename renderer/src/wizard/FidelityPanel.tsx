import { lazy, Suspense } from 'react';
import { Alert, Box, Stack, Table, TableBody, TableCell, TableHead, TableRow, Typography } from '@mui/material';
import { useTheme } from '@mui/material/styles';
import { create } from 'zustand';
import type { FidelityReport } from '../../../shared/report.js';
import { MONO } from '../app/theme.js';
import { CopyButton } from '../components/CopyButton.js';
import { FloatTensorsPanel, Int8VerdictBanner, SearchChart } from './Int8Target.js';

// @mui/x-charts is most of the bundle: load it only when a sensitivity chart is shown.
const BarChart = lazy(() => import('@mui/x-charts/BarChart').then((m) => ({ default: m.BarChart })));

/** The "Check INT8 fidelity" option (default on); the request builder reads it into request.fidelity.enabled. */
export const useFidelityOption = create<{ enabled: boolean; setEnabled(v: boolean): void }>()((set) => ({
  enabled: true,
  setEnabled: (enabled) => set({ enabled }),
}));

/**
 * What the switch costs, measured (docs/BENCHMARKS.md, "INT8 check and search"): the check took
 * 0.45–0.64× the calibration time on the sample and 1.24× on ISNet at 1024² (its held-out images'
 * FP32 + Q/DQ runs alone); the search, only when the target is missed, at most 2× more.
 */
export const FIDELITY_SWITCH_LABEL =
  'Check INT8 against its target on held-out images (costs 0.5–1.3× the calibration time again; if the target is missed, the search adds at most 2× the calibration time)';

/** Fields the pipeline adds beyond the contract (present in reports from this version on). */
type Extras = { suggestedLayers?: string[]; sensitivityEvaluated?: number; sensitivityCandidates?: number };

const pct = (v: number) => `${(100 * v).toFixed(1)} %`;
const db = (v: number) => (v >= 200 ? 'identical' : `${v.toFixed(1)} dB`);

/** Ready-to-paste trtexec flags pinning layers (ONNX node names) to FP16. */
export function trtexecFlags(layers: readonly string[]): string {
  const list = layers.map((l) => `${l}:fp16`).join(',');
  return `--fp16 --int8 --precisionConstraints=obey --layerPrecisions=${/^[\w./:,-]+$/.test(list) ? list : `'${list.replace(/'/g, `'\\''`)}'`}`;
}

/** FP32 vs INT8 (Q/DQ) on held-out images: per-output agreement, detections, sensitive tensors. */
export function FidelityPanel({ report }: { report: FidelityReport }) {
  const theme = useTheme();
  const extras = report as FidelityReport & Extras;
  const layers = extras.suggestedLayers ?? report.suggestedFp16;
  const flags = report.suggestedFp16.length ? trtexecFlags(layers) : '';
  const worst = report.sensitivity.slice(0, 20);
  // Bars start at the lowest SNR (it may be negative) and stop a little past the highest finite one:
  // one lossless tensor (SNR = ∞ or 200 dB) must not squeeze every real bar to a hairline.
  const finite = worst.map((s) => s.snrDb).filter((v) => Number.isFinite(v) && v < 200);
  const snrMax = finite.length > 0 ? Math.max(...finite) * 1.15 + 1 : 60;
  const snrMin = Math.min(0, ...finite);
  const d = report.detections;
  const searched = report.search?.mode === 'auto';
  return (
    <Stack spacing={1.5} data-testid="result-fidelity">
      <Typography variant="subtitle1" component="h3">
        INT8 fidelity
      </Typography>
      <Int8VerdictBanner report={report} />
      <Typography variant="body2" color="text.secondary">
        FP32 vs the fake-quantized (Q/DQ) model on {report.images} held-out image{report.images === 1 ? '' : 's'} ({report.source}), {report.seconds.toFixed(1)} s.
      </Typography>
      <Table size="small" aria-label="Output agreement FP32 vs INT8" data-testid="fidelity-outputs">
        <TableHead>
          <TableRow>
            <TableCell>Output</TableCell>
            <TableCell align="right">Cosine</TableCell>
            <TableCell align="right">SNR</TableCell>
            <TableCell align="right">Max |Δ|</TableCell>
          </TableRow>
        </TableHead>
        <TableBody>
          {report.outputs.map((o) => (
            <TableRow key={o.name}>
              <TableCell sx={{ fontFamily: MONO }}>{o.name}</TableCell>
              <TableCell align="right">{o.cosine.toFixed(5)}</TableCell>
              <TableCell align="right">{db(o.snrDb)}</TableCell>
              <TableCell align="right">{o.maxAbsError.toPrecision(3)}</TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
      {d && (
        <Typography variant="body2" data-testid="fidelity-detections">
          Detections (score ≥ 0.5): FP32 {d.fp32}, INT8 {d.int8}, matched {d.matched} — agreement {pct(d.agreement)}, mean box IoU {d.meanBoxIoU.toFixed(3)}, class agreement {pct(d.classAgreement)}, mean |Δscore| {d.meanAbsScoreDelta.toFixed(4)}.
          {report.masks && report.masks.compared > 0 && ` Masks: mean IoU ${report.masks.meanMaskIoU.toFixed(3)} over ${report.masks.compared} matched detections.`}
        </Typography>
      )}
      {d && d.agreement < 0.9 && !report.verdict && (
        <Alert severity="warning">
          INT8 keeps only {pct(d.agreement)} of the FP32 detections. Try another calibration algorithm (min-max or percentile), more calibration images, or the FP16 fallback below.
        </Alert>
      )}
      {worst.length > 0 && (
        <Box>
          <Typography variant="subtitle2">
            Most sensitive tensors (quantized alone, output SNR; lower is worse)
            {extras.sensitivityEvaluated !== undefined && extras.sensitivityCandidates !== undefined ? ` — ${extras.sensitivityEvaluated} of ${extras.sensitivityCandidates} evaluated` : ''}
          </Typography>
          <Box data-testid="fidelity-sensitivity" aria-label="Bar chart of output SNR when each tensor alone is quantized" role="img">
            <Suspense fallback={<Typography color="text.secondary">Loading chart…</Typography>}>
              <BarChart
                height={Math.max(200, worst.length * 22 + 40)}
                layout="horizontal"
                yAxis={[{ scaleType: 'band', data: worst.map((s) => s.name), width: 180 }]}
                xAxis={[{ label: 'output SNR (dB)', min: snrMin, max: snrMax }]}
                series={[{ data: worst.map((s) => Math.min(Number.isFinite(s.snrDb) ? s.snrDb : snrMax, snrMax)), label: 'SNR dB', color: theme.palette.warning.main, valueFormatter: (v: number | null) => (v === null ? '' : v >= snrMax ? `≥ ${snrMax.toFixed(0)} dB` : `${v.toFixed(1)} dB`) }]}
                hideLegend
                grid={{ vertical: true }}
              />
            </Suspense>
          </Box>
        </Box>
      )}
      <SearchChart report={report} />
      <FloatTensorsPanel report={report} />
      {searched ? null : report.suggestedFp16.length > 0 ? (
        <Alert severity="info" data-testid="fidelity-suggestion">
          <Typography variant="body2">Keep in FP16: {report.suggestedFp16.join(', ')}</Typography>
          <Stack direction="row" spacing={1} sx={{ alignItems: 'center', mt: 0.5 }}>
            <Box component="code" sx={{ fontFamily: MONO, fontSize: 12, wordBreak: 'break-all', flex: 1 }}>
              trtexec … {flags}
            </Box>
            <CopyButton icon text={flags} label="Copy the trtexec precision flags" testId="fidelity-copy" />
          </Stack>
        </Alert>
      ) : (
        report.sensitivity.length > 0 && <Typography variant="body2">No tensor needs an FP16 fallback by the report's thresholds.</Typography>
      )}
    </Stack>
  );
}
