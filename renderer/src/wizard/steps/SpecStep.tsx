import { Alert, Box, Chip, FormControl, FormControlLabel, FormLabel, Radio, RadioGroup, Stack, Table, TableBody, TableCell, TableHead, TableRow, Typography } from '@mui/material';
import type { SpecSummary } from '../../../../shared/api.js';
import type { PreprocessingPreset } from '../../../../shared/request.js';
import { useClient, useInfo } from '../../app/client-context.js';
import { MONO } from '../../app/theme.js';
import { PathField } from '../../components/PathField.js';
import { RecentList } from '../../components/RecentList.js';
import { ErrorAlert } from '../../components/ErrorAlert.js';
import { CheckStatus } from '../../components/CheckStatus.js';
import { setSpecPath, useSourceStore } from '../../store/source.js';
import { dirname } from '../../store/paths.js';
import { openSpec } from '../actions.js';

const PRESETS: { id: PreprocessingPreset; label: string; detail: string }[] = [
  { id: 'tao-maskrcnn', label: 'TAO Mask R-CNN', detail: 'RGB, (x/255 − ImageNet mean) / 0.224, keep aspect + pad, NCHW' },
  { id: 'imagenet', label: 'ImageNet', detail: 'RGB, per-channel ImageNet mean and std, NCHW' },
  { id: 'unit', label: '0–1', detail: 'RGB, x / 255, NCHW' },
];

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
  const preset = useSourceStore((s) => s.preset);
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
      {!specPath.trim() && (
        <FormControl>
          <FormLabel id="preset-label">Without a spec, preprocess images as</FormLabel>
          <RadioGroup aria-labelledby="preset-label" value={preset} onChange={(e) => useSourceStore.getState().patch({ preset: e.target.value as PreprocessingPreset })} data-testid="preset">
            {PRESETS.map((p) => (
              <FormControlLabel
                key={p.id}
                value={p.id}
                control={<Radio />}
                label={
                  <span>
                    {p.label}{' '}
                    <Typography component="span" variant="body2" color="text.secondary">
                      — {p.detail}
                    </Typography>
                  </span>
                }
              />
            ))}
          </RadioGroup>
        </FormControl>
      )}
    </Stack>
  );
}
