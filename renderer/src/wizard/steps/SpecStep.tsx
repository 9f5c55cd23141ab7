import { Alert, Box, Chip, FormControl, FormControlLabel, FormLabel, InputLabel, MenuItem, Radio, RadioGroup, Select, Stack, Table, TableBody, TableCell, TableHead, TableRow, TextField, Typography } from '@mui/material';
import type { SpecSummary } from '../../../../shared/api.js';
import type { PreprocessingPreset, ResizeMode } from '../../../../shared/request.js';
import { useClient, useInfo } from '../../app/client-context.js';
import { MONO } from '../../app/theme.js';
import { PathField } from '../../components/PathField.js';
import { RecentList } from '../../components/RecentList.js';
import { ErrorAlert } from '../../components/ErrorAlert.js';
import { CheckStatus } from '../../components/CheckStatus.js';
import { setSpecPath, useSourceStore, type PreprocessingFields } from '../../store/source.js';
import { useOptionsStore } from '../../store/options.js';
import { inputGeometry, preprocessingProblems } from '../../store/request.js';
import { dirname } from '../../store/paths.js';
import { openSpec } from '../actions.js';
import { OptionLabel } from '../../components/OptionLabel.js';

const PRESETS: { id: PreprocessingPreset; label: string; detail: string }[] = [
  { id: 'tao-maskrcnn', label: 'TAO Mask R-CNN', detail: 'RGB, (x/255 − ImageNet mean) / 0.224, keep aspect + pad, NCHW' },
  { id: 'imagenet', label: 'ImageNet', detail: 'RGB, per-channel ImageNet mean and std, NCHW' },
  { id: 'unit', label: '0–1', detail: 'RGB, x / 255, NCHW' },
];

/** Every preprocessing setting the CLI has for a model without a spec (--preset, --input_size, --mean, --scale, --channel_order, --layout, --cal_resize). */
function PreprocessingForm() {
  const preset = useSourceStore((s) => s.preset);
  const pp = useSourceStore((s) => s.pp);
  const model = useSourceStore((s) => s.model);
  const resize = useOptionsStore((s) => s.calibration.resize);
  const set = (p: Partial<PreprocessingFields>) => useSourceStore.getState().patch({ pp: { ...useSourceStore.getState().pp, ...p } });
  const geo = inputGeometry(model?.inputs[0]?.shape ?? null);
  const problems = preprocessingProblems(pp);
  const bad = (prefix: string) => problems.find((p) => p.startsWith(prefix));
  const sizeMissing = geo.dynamic && (pp.height.trim() === '' || pp.width.trim() === '');
  return (
    <Stack spacing={2} data-testid="preprocessing" component="section" aria-labelledby="pp-title">
      <Typography id="pp-title" variant="subtitle1" component="h3">
        Preprocessing without a spec
      </Typography>
      {model && (
        <Typography variant="body2" color="text.secondary" data-testid="pp-model-input">
          Model input <code style={{ fontFamily: MONO }}>{model.inputs[0]?.name ?? '?'}</code> {geo.text}
          {geo.layout ? ` — ${geo.layout.toUpperCase()}` : ''}
          {geo.size ? `, fixed ${geo.size[0]} × ${geo.size[1]}` : geo.dynamic ? ', dynamic height/width: give the size calibration and DeepStream should use' : ''}
        </Typography>
      )}
      {sizeMissing && (
        <Alert severity="warning" data-testid="pp-size-needed">
          INT8 calibration and the DeepStream config need the input size this model runs at: give its height and width.
        </Alert>
      )}
      <FormControl>
        <FormLabel id="preset-label">Preset</FormLabel>
        <RadioGroup aria-labelledby="preset-label" value={preset} onChange={(e) => useSourceStore.getState().patch({ preset: e.target.value as PreprocessingPreset })} data-testid="preset">
          {PRESETS.map((p) => (
            <FormControlLabel
              key={p.id}
              value={p.id}
              control={<Radio />}
              label={<OptionLabel label={p.label} detail={p.detail} />}
            />
          ))}
        </RadioGroup>
      </FormControl>
      <Stack direction="row" spacing={2} useFlexGap sx={{ flexWrap: 'wrap', alignItems: 'flex-start' }}>
        <TextField
          label="Input height"
          size="small"
          value={geo.size ? String(geo.size[0]) : pp.height}
          disabled={Boolean(geo.size)}
          required={geo.dynamic}
          error={Boolean(bad('Input size')) || (sizeMissing && pp.height.trim() === '' && pp.width.trim() !== '')}
          onChange={(e) => set({ height: e.target.value })}
          sx={{ width: 150 }}
          slotProps={{ htmlInput: { inputMode: 'numeric', 'data-testid': 'pp-height' } }}
        />
        <TextField
          label="Input width"
          size="small"
          value={geo.size ? String(geo.size[1]) : pp.width}
          disabled={Boolean(geo.size)}
          required={geo.dynamic}
          error={Boolean(bad('Input size'))}
          onChange={(e) => set({ width: e.target.value })}
          sx={{ width: 150 }}
          slotProps={{ htmlInput: { inputMode: 'numeric', 'data-testid': 'pp-width' } }}
          helperText={geo.size ? 'fixed by the model' : undefined}
        />
        <TextField
          label="Mean (per channel, pixel units)"
          size="small"
          value={pp.mean}
          placeholder="preset"
          error={Boolean(bad('Mean'))}
          helperText={bad('Mean') ?? 'Empty: the preset’s'}
          onChange={(e) => set({ mean: e.target.value })}
          sx={{ width: 260 }}
          slotProps={{ htmlInput: { 'data-testid': 'pp-mean', spellCheck: false } }}
        />
        <TextField
          label="Scale (per channel, after the mean)"
          size="small"
          value={pp.scale}
          placeholder="preset"
          error={Boolean(bad('Scale'))}
          helperText={bad('Scale') ?? 'Empty: the preset’s'}
          onChange={(e) => set({ scale: e.target.value })}
          sx={{ width: 260 }}
          slotProps={{ htmlInput: { 'data-testid': 'pp-scale', spellCheck: false } }}
        />
      </Stack>
      <Stack direction="row" spacing={2} useFlexGap sx={{ flexWrap: 'wrap', alignItems: 'center' }}>
        <FormControl size="small" sx={{ width: 200 }}>
          <InputLabel id="pp-order-label" shrink>Channel order</InputLabel>
          <Select displayEmpty notched labelId="pp-order-label" label="Channel order" value={pp.order} onChange={(e) => set({ order: e.target.value as PreprocessingFields['order'] })} data-testid="pp-order">
            <MenuItem value="">Preset (RGB)</MenuItem>
            <MenuItem value="rgb">RGB</MenuItem>
            <MenuItem value="bgr">BGR</MenuItem>
          </Select>
        </FormControl>
        <FormControl size="small" sx={{ width: 200 }}>
          <InputLabel id="pp-layout-label" shrink>Layout</InputLabel>
          <Select displayEmpty notched labelId="pp-layout-label" label="Layout" value={pp.layout} onChange={(e) => set({ layout: e.target.value as PreprocessingFields['layout'] })} data-testid="pp-layout">
            <MenuItem value="">{geo.layout ? `From the model (${geo.layout.toUpperCase()})` : 'Preset (NCHW)'}</MenuItem>
            <MenuItem value="nchw">NCHW</MenuItem>
            <MenuItem value="nhwc">NHWC</MenuItem>
          </Select>
        </FormControl>
        <FormControl>
          <FormLabel id="pp-resize-label">Resize</FormLabel>
          <RadioGroup row aria-labelledby="pp-resize-label" value={resize} onChange={(e) => useOptionsStore.getState().setCalibration({ resize: e.target.value as ResizeMode })} data-testid="pp-resize">
            <FormControlLabel value="keep-aspect-pad" control={<Radio />} label="Keep aspect + pad" />
            <FormControlLabel value="stretch" control={<Radio />} label="Stretch to W×H" />
          </RadioGroup>
        </FormControl>
      </Stack>
    </Stack>
  );
}

function Row({ k, v }: { k: string; v: React.ReactNode }) {
  return (
    <TableRow>
      <TableCell component="th" scope="row" sx={{ width: 220, color: 'text.secondary' }}>
        {k}
      </TableCell>
      <TableCell>{v}</TableCell>
    </TableRow>
  );
}

function SpecCard({ spec }: { spec: SpecSummary }) {
  const records = spec.trainingFiles.reduce((n, f) => n + f.records, 0);
  return (
    <Box data-testid="spec-summary" sx={{ border: 1, borderColor: 'divider', borderRadius: 2, p: 2 }}>
      <Table size="small" aria-label="Spec summary">
        <TableBody>
          <Row k="Image size (H × W)" v={`${spec.imageSize[0]} × ${spec.imageSize[1]}`} />
          <Row k="Classes" v={`${spec.numClasses} (including background)`} />
          <Row k="Training files" v={<code style={{ fontFamily: MONO }}>{spec.trainingFilePattern}</code>} />
          <Row k="Validation files" v={<code style={{ fontFamily: MONO }}>{spec.validationFilePattern || '—'}</code>} />
          <Row
            k="val_json_file"
            v={
              <Stack direction="row" spacing={1} sx={{ alignItems: 'center' }}>
                <code style={{ fontFamily: MONO, wordBreak: 'break-all' }}>{spec.valJsonFile || '—'}</code>
                <Chip size="small" color={spec.valJsonFound ? 'success' : 'warning'} label={spec.valJsonFound ? 'found' : 'not found'} />
              </Stack>
            }
          />
        </TableBody>
      </Table>
      <Typography variant="subtitle2" sx={{ mt: 2 }}>
        TFRecords found: {spec.trainingFiles.length} file(s), {records.toLocaleString()} records
      </Typography>
      {spec.trainingFiles.length > 0 ? (
        <Table size="small" aria-label="Training TFRecord files" data-testid="spec-files">
          <TableHead>
            <TableRow>
              <TableCell>File</TableCell>
              <TableCell align="right">Records</TableCell>
            </TableRow>
          </TableHead>
          <TableBody>
            {spec.trainingFiles.map((f) => (
              <TableRow key={f.path}>
                <TableCell sx={{ fontFamily: MONO, wordBreak: 'break-all' }}>{f.path}</TableCell>
                <TableCell align="right">{f.records.toLocaleString()}</TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      ) : (
        <Alert severity="warning" sx={{ mt: 1 }}>
          No file matches training_file_pattern here: calibrate from an image folder or a tensorfile instead.
        </Alert>
      )}
      {spec.warnings.map((w, i) => (
        <Alert key={i} severity="warning" sx={{ mt: 1 }} data-testid="spec-warning">
          <span style={{ fontFamily: MONO }}>
            {spec.path}:{w.line}:{w.column}
          </span>{' '}
          {w.message}
        </Alert>
      ))}
    </Box>
  );
}

export function SpecStep() {
  const client = useClient();
  const info = useInfo();
  const specPath = useSourceStore((s) => s.specPath);
  const spec = useSourceStore((s) => s.spec);
  const check = useSourceStore((s) => s.specCheck);
  const modelPath = useSourceStore((s) => s.modelPath);

  return (
    <Stack spacing={2}>
      <Typography color="text.secondary">
        The experiment spec the model was trained with gives the input size, the preprocessing and the TFRecords for calibration. Optional for a plain ONNX model.
      </Typography>
      <PathField
        label="Experiment spec"
        value={specPath}
        kind="spec"
        testId="spec-path"
        onChange={(v) => useSourceStore.getState().update((s) => setSpecPath(s, v))}
        onCommit={(v) => void openSpec(client, v)}
        startDir={modelPath ? dirname(modelPath) : (info?.homeDir ?? null)}
        placeholder="/path/to/experiment_spec.txt"
        autoFocus
      />
      <CheckStatus check={check} okText="Parsed the spec" testId="spec-status" />
      {check.status === 'error' && <ErrorAlert error={check.error} />}
      {spec && <SpecCard spec={spec} />}
      {!spec && <RecentList kind="spec" title="Recent specs" current={specPath} onOpen={(p) => void openSpec(client, p)} refresh={check.status} />}
      {!specPath.trim() && <PreprocessingForm />}
    </Stack>
  );
}
