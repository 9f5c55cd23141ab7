/**
 * The INT8 target in the wizard: the field (Precision/Calibration steps), and on the Results step
 * the verdict (red with the numbers and the next step when missed), the search's agreement
 * against the number of tensors kept in float, the tensors kept in FP16 and why, and the
 * copyable trtexec line.
 */
import { Alert, AlertTitle, Box, FormControlLabel, Stack, Switch, Table, TableBody, TableCell, TableHead, TableRow, TextField, Typography } from '@mui/material';
import { useTheme } from '@mui/material/styles';
import { create } from 'zustand';
import { DEFAULT_DETECTION_TARGET, DEFAULT_TENSOR_TARGET, formatInt8Target, formatTermValue, parseInt8Target, type Int8Target } from '../../../shared/int8-target.js';
import { EXPORT_DEFAULTS } from '../../../shared/defaults.js';
import type { FidelityReport, Int8SearchReport } from '../../../shared/report.js';
import { MONO } from '../app/theme.js';
import { CopyButton } from '../components/CopyButton.js';

/** The wizard's INT8 target text ('' = default by output kind) and search switch; read by startExport. */
export const useInt8TargetOption = create<{ text: string; search: boolean; images: number; setText(v: string): void; setSearch(v: boolean): void; setImages(v: number): void }>()((set) => ({
  text: '',
  search: true,
  /** Held-out images for the check (--fidelity_images). */
  images: EXPORT_DEFAULTS.fidelityImages,
  setText: (text) => set({ text }),
  setSearch: (search) => set({ search }),
  setImages: (images) => set({ images }),
}));

/** The target typed in the field, or the reason it is not one; null text = default. */
export function targetFromText(text: string): { target?: Int8Target; error?: string } {
  if (text.trim() === '') return {};
  try {
    return { target: parseInt8Target(text) };
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

/** What the request carries from the field and the switch (undefined target = default). */
export function int8RequestFields(): { target?: Int8Target; search: 'auto' | 'off'; images: number } {
  const s = useInt8TargetOption.getState();
  const t = targetFromText(s.text).target;
  return { ...(t ? { target: t } : {}), search: s.search ? 'auto' : 'off', images: s.images };
}

/** The INT8 target field and the search switch (Calibration step). */
export function Int8TargetField() {
  const o = useInt8TargetOption();
  const parsed = targetFromText(o.text);
  return (
    <Stack spacing={1} data-testid="int8-target">
      <Typography variant="subtitle1" component="h3">
        INT8 target
      </Typography>
      <TextField
        size="small"
        label="Fidelity target (FP32 vs INT8 on held-out images)"
        placeholder={`default: ${formatInt8Target(DEFAULT_DETECTION_TARGET)} (Mask R-CNN) · ${formatInt8Target(DEFAULT_TENSOR_TARGET)} (other models)`}
        value={o.text}
        onChange={(e) => o.setText(e.target.value)}
        error={parsed.error !== undefined}
        helperText={
          parsed.error ??
          (parsed.target
            ? `Every term must hold: ${formatInt8Target(parsed.target)}. Missing it ends the export in red (the files are still written).`
            : 'Empty = the default for the model’s outputs: 90 % detection agreement and 0.85 mask IoU for Mask R-CNN, 20 dB output SNR otherwise.')
        }
        slotProps={{ htmlInput: { 'data-testid': 'int8-target-input', spellCheck: false } }}
        sx={{ maxWidth: 640, '& input': { fontFamily: MONO } }}
      />
      <TextField
        size="small"
        type="number"
        label="Held-out images for the check"
        value={o.images}
        onChange={(e) => {
          const n = Math.floor(Number(e.target.value));
          if (Number.isFinite(n) && n >= 1) o.setImages(n);
        }}
        helperText="Images never used for calibration, compared FP32 vs INT8 (--fidelity_images); more is slower and surer."
        slotProps={{ htmlInput: { 'data-testid': 'int8-fidelity-images', min: 1, max: 1000, step: 1 } }}
        sx={{ maxWidth: 320 }}
      />
      <FormControlLabel
        control={<Switch checked={o.search} onChange={(e) => o.setSearch(e.target.checked)} />}
        label="Search automatically when the target is missed: best algorithm per tensor, then the fewest tensors kept in FP16 (at most 2× the calibration time)"
        data-testid="int8-search"
      />
    </Stack>
  );
}

/** The one-line INT8 target note for the Precision step. */
export function Int8TargetNote() {
  const { text } = useInt8TargetOption();
  const t = targetFromText(text).target;
  return (
    <Typography variant="body2" color="text.secondary" data-testid="int8-target-note">
      INT8 is checked against a fidelity target on held-out images: {t ? formatInt8Target(t) : 'the default for the model’s outputs (90 % detection agreement, 0.85 mask IoU; 20 dB SNR for other models)'}. Set it on the
      Calibration step.
    </Typography>
  );
}

/** Red (with the numbers and the next step) or green: the verdict of the INT8 gate. */
export function Int8VerdictBanner({ report }: { report: FidelityReport }) {
  const v = report.verdict;
  if (!v) return null;
  return (
    <Alert severity={v.meetsTarget ? 'success' : 'error'} variant={v.meetsTarget ? 'standard' : 'filled'} data-testid="int8-verdict" data-verdict={v.meetsTarget ? 'meets' : 'below'}>
      <AlertTitle>{v.meetsTarget ? 'INT8 meets its target' : 'INT8 below target'}</AlertTitle>
      <Box component="ul" sx={{ m: 0, pl: 2.5 }}>
        {v.checks.map((c) => (
          <li key={c.term}>
            {c.label}: {formatTermValue(c.term, c.value)} (target ≥ {formatTermValue(c.term, c.target)}) {c.ok ? '✓' : '✗'}
          </li>
        ))}
      </Box>
      <Typography variant="body2" sx={{ mt: 0.5 }}>
        {report.images} held-out image{report.images === 1 ? '' : 's'}; {v.targetOrigin === 'default' ? 'default target for this output kind' : 'target set for this export'}.
        {!v.meetsTarget && ' Every file was written, but this INT8 model is not as accurate as asked.'}
        {!v.meetsTarget && v.allowed && ' (--allow_below_target: the job still counts as finished.)'}
      </Typography>
      {v.nextStep && (
        <Typography variant="body2" sx={{ mt: 0.5, fontWeight: 600 }} data-testid="int8-next-step">
          Next: {v.nextStep}
        </Typography>
      )}
    </Alert>
  );
}

/** The primary target term of a search step (the first term of the target), for the chart. */
function stepValue(s: Int8SearchReport['steps'][number]): number | null {
  return s.checks[0]?.value ?? null;
}

/** Agreement before and after the search, against the number of tensors kept in float (inline SVG). */
export function SearchChart({ report }: { report: FidelityReport }) {
  const theme = useTheme();
  const s = report.search;
  const v = report.verdict;
  if (!s || s.steps.length < 2 || !v) return null;
  const term = v.checks[0];
  if (!term) return null;
  const pts = s.steps.map((st, i) => ({ i, x: st.floatTensors, y: stepValue(st), kept: st.kept, meets: st.meetsTarget, label: st.step })).filter((p): p is typeof p & { y: number } => p.y !== null);
  const W = 420;
  const H = 180;
  const pad = { l: 48, r: 12, t: 10, b: 30 };
  const xMax = Math.max(1, ...pts.map((p) => p.x));
  const ys = [...pts.map((p) => p.y), term.target];
  const yMin = Math.min(...ys);
  const yMax = Math.max(...ys);
  const span = yMax - yMin || 1;
  const X = (x: number) => pad.l + (x / xMax) * (W - pad.l - pad.r);
  const Y = (y: number) => pad.t + (1 - (y - yMin) / span) * (H - pad.t - pad.b);
  const fmt = (y: number) => formatTermValue(term.term, y);
  const first = pts[0];
  const last = pts.filter((p) => p.kept).pop() ?? first;
  return (
    <Box data-testid="int8-search-chart">
      <Typography variant="subtitle2">
        INT8 search: {term.label} {first ? fmt(first.y) : '–'} before → {last ? fmt(last.y) : '–'} after, against tensors kept in float ({s.evaluations} evaluation{s.evaluations === 1 ? '' : 's'}, {s.seconds.toFixed(1)} s of a {s.budgetSeconds.toFixed(1)} s bound)
      </Typography>
      <svg width={W} height={H} role="img" aria-label={`${term.label} after each search step against the number of tensors kept in float; dashed line: target`}>
        <line x1={pad.l} y1={H - pad.b} x2={W - pad.r} y2={H - pad.b} stroke={theme.palette.text.secondary} />
        <line x1={pad.l} y1={pad.t} x2={pad.l} y2={H - pad.b} stroke={theme.palette.text.secondary} />
        <line x1={pad.l} y1={Y(term.target)} x2={W - pad.r} y2={Y(term.target)} stroke={theme.palette.error.main} strokeDasharray="4 3" />
        <text x={W - pad.r} y={Y(term.target) - 3} fontSize={10} textAnchor="end" fill={theme.palette.error.main}>
          target {fmt(term.target)}
        </text>
        <text x={pad.l - 4} y={pad.t + 8} fontSize={10} textAnchor="end" fill={theme.palette.text.secondary}>
          {fmt(yMax)}
        </text>
        <text x={pad.l - 4} y={H - pad.b} fontSize={10} textAnchor="end" fill={theme.palette.text.secondary}>
          {fmt(yMin)}
        </text>
        <text x={(W + pad.l) / 2} y={H - 6} fontSize={10} textAnchor="middle" fill={theme.palette.text.secondary}>
          tensors kept in float (0 … {xMax})
        </text>
        {pts.map((p) => (
          <circle key={p.i} cx={X(p.x)} cy={Y(p.y)} r={p.kept ? 5 : 3.5} fill={p.meets ? theme.palette.success.main : theme.palette.warning.main} stroke={p.kept ? theme.palette.text.primary : 'none'}>
            <title>{`${p.label}: ${fmt(p.y)}`}</title>
          </circle>
        ))}
      </svg>
      <Table size="small" aria-label="INT8 search steps" data-testid="int8-search-steps">
        <TableHead>
          <TableRow>
            <TableCell>Step</TableCell>
            <TableCell align="right">Float tensors</TableCell>
            <TableCell align="right">{term.label}</TableCell>
            <TableCell align="right">Time</TableCell>
          </TableRow>
        </TableHead>
        <TableBody>
          {s.steps.map((st, i) => (
            <TableRow key={i} selected={st.kept}>
              <TableCell>{st.step}{st.kept ? ' (kept)' : ''}</TableCell>
              <TableCell align="right">{st.floatTensors}</TableCell>
              <TableCell align="right">{formatTermValue(term.term, stepValue(st))}</TableCell>
              <TableCell align="right">{st.seconds.toFixed(2)} s</TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
    </Box>
  );
}

/** The tensors kept in FP16/FP32 and why, and the copyable trtexec line. */
export function FloatTensorsPanel({ report }: { report: FidelityReport }) {
  const float = report.search?.floatTensors ?? [];
  return (
    <Stack spacing={1}>
      {float.length > 0 ? (
        <Table size="small" aria-label="Tensors kept out of INT8" data-testid="int8-float-tensors">
          <TableHead>
            <TableRow>
              <TableCell>Tensor kept in {float[0]?.precision.toUpperCase()}</TableCell>
              <TableCell>Layers pinned</TableCell>
              <TableCell>Why</TableCell>
            </TableRow>
          </TableHead>
          <TableBody>
            {float.map((f) => (
              <TableRow key={f.name}>
                <TableCell sx={{ fontFamily: MONO }}>{f.name}</TableCell>
                <TableCell sx={{ fontFamily: MONO }}>{f.layers.join(', ')}</TableCell>
                <TableCell>{f.reason}</TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      ) : (
        report.search?.mode === 'auto' && <Typography variant="body2">Every calibrated tensor stays in INT8.</Typography>
      )}
      {report.trtexec && (
        <Stack direction="row" spacing={1} sx={{ alignItems: 'center' }}>
          <Box component="code" sx={{ fontFamily: MONO, fontSize: 12, wordBreak: 'break-all', flex: 1 }} data-testid="int8-trtexec">
            {report.trtexec}
          </Box>
          <CopyButton icon text={report.trtexec} label="Copy the trtexec command" testId="int8-trtexec-copy" />
        </Stack>
      )}
    </Stack>
  );
}
