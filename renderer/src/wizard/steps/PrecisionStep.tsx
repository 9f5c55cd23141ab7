import { Alert, Box, Paper, Radio, Stack, Typography } from '@mui/material';
import { Int8TargetNote } from '../Int8Target.js';
import type { Precision } from '../../../../shared/request.js';
import { useOptionsStore } from '../../store/options.js';

const CHOICES: { id: Precision; title: string; line: string }[] = [
  { id: 'fp32', title: 'FP32', line: 'Full precision. Same numbers as training; the largest and slowest engine.' },
  { id: 'fp16', title: 'FP16', line: 'Half precision. About 2× faster on Tensor Cores with negligible accuracy loss; no calibration needed.' },
  { id: 'int8', title: 'INT8', line: 'Fastest and smallest. Needs calibration data so activations get good 8-bit ranges.' },
];

/** Three cards acting as one radio group (arrow keys move, Space selects). */
export function PrecisionStep() {
  const precision = useOptionsStore((s) => s.precision);
  const set = useOptionsStore.getState().setPrecision;
  return (
    <Stack spacing={2}>
      <Box role="radiogroup" aria-label="Precision" sx={{ display: 'grid', gridTemplateColumns: { xs: '1fr', md: 'repeat(3, 1fr)' }, gap: 2 }} data-testid="precision">
        {CHOICES.map((c) => {
          const selected = precision === c.id;
          return (
            <Paper
              key={c.id}
              component="label"
              data-testid={`precision-${c.id}`}
              sx={{
                p: 2,
                cursor: 'pointer',
                borderWidth: 2,
                borderColor: selected ? 'primary.main' : 'divider',
                display: 'flex',
                gap: 1,
                alignItems: 'flex-start',
                '&:focus-within': { outline: 2, outlineColor: 'secondary.main', outlineOffset: 2 },
              }}
            >
              <Radio checked={selected} onChange={() => set(c.id)} value={c.id} name="precision" slotProps={{ input: { 'aria-label': c.title } }} sx={{ mt: -1, ml: -1 }} />
              <Box>
                <Typography variant="h6">{c.title}</Typography>
                <Typography variant="body2" color="text.secondary">
                  {c.line}
                </Typography>
              </Box>
            </Paper>
          );
        })}
      </Box>
      {precision === 'int8' && (
        <Alert severity="info" data-testid="int8-note">
          TensorRT ≥ 10.1 deprecates implicit calibration and prefers explicit quantization (a Q/DQ ONNX model). Export Studio writes both: a calibration cache for older
          TensorRT and DeepStream, and a Q/DQ model with the same scales.
        </Alert>
      )}
      {precision === 'int8' && <Int8TargetNote />}
    </Stack>
  );
}
