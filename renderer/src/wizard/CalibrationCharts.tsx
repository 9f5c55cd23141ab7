import { useState } from 'react';
import { Box, FormControl, InputLabel, MenuItem, Select, Stack, Typography } from '@mui/material';
import { BarChart } from '@mui/x-charts/BarChart';
import { useTheme } from '@mui/material/styles';
import type { TensorStat } from './calibration-data.js';

const compact = new Intl.NumberFormat('en', { notation: 'compact' });

/** Per-tensor amax (the scale TensorRT gets is amax/127) and one tensor's histogram. */
export function CalibrationCharts({ stats }: { stats: TensorStat[] }) {
  const withHist = stats.filter((s) => s.histogram);
  const [selected, setSelected] = useState(withHist[0]?.name ?? '');
  const hist = withHist.find((s) => s.name === selected)?.histogram;
  const top = stats.slice(0, 40);
  const theme = useTheme();
  // Ranges span decades (box decoders in the hundreds, activations near 1): on a linear axis most
  // bars would be hairlines, so a wide spread gets a square-root axis (still starting at 0).
  const positive = top.map((s) => s.amax).filter((v) => v > 0);
  const spread = positive.length > 0 ? Math.max(...positive) / Math.min(...positive) : 1;
  const scaleType = spread > 30 ? ('sqrt' as const) : ('linear' as const);

  return (
    <Stack spacing={2} data-testid="calibration-charts">
      <Box>
        <Typography variant="subtitle2">
          Per-tensor range: max |x| seen and the clip threshold the cache stores (scale × 127){stats.length > top.length ? ` — first ${top.length} of ${stats.length}` : ''}
        </Typography>
        <Box data-testid="chart-amax" data-tensors={top.length} aria-label="Bar chart of per-tensor amax and calibration threshold" role="img">
          <BarChart
            height={Math.max(220, top.length * 26 + 60)}
            layout="horizontal"
            yAxis={[{ scaleType: 'band', data: top.map((s) => s.name), width: 170 }]}
            xAxis={[{ label: scaleType === 'sqrt' ? '|activation| (square-root axis)' : '|activation|', min: 0, scaleType }]}
            series={[
              { data: top.map((s) => s.amax), label: 'max |x|', color: theme.palette.primary.light },
              { data: top.map((s) => s.threshold), label: 'threshold', color: theme.palette.primary.dark },
            ]}
            grid={{ vertical: true }}
          />
        </Box>
      </Box>
      {withHist.length > 0 && hist && (
        <Box>
          <Stack direction="row" spacing={2} sx={{ alignItems: 'center' }}>
            <Typography variant="subtitle2" sx={{ flex: 1 }}>
              Activation histogram
            </Typography>
            <FormControl size="small" sx={{ minWidth: 220 }}>
              <InputLabel id="hist-tensor-label">Tensor</InputLabel>
              <Select labelId="hist-tensor-label" label="Tensor" value={selected} onChange={(e) => setSelected(e.target.value)} data-testid="chart-hist-tensor">
                {withHist.map((s) => (
                  <MenuItem key={s.name} value={s.name}>
                    {s.name}
                  </MenuItem>
                ))}
              </Select>
            </FormControl>
          </Stack>
          <Box data-testid="chart-histogram" aria-label={`Histogram of ${selected}`} role="img">
            <BarChart
              height={260}
              xAxis={[
                {
                  scaleType: 'band',
                  data: hist.counts.map((_, i) => ((hist.edges[i] ?? 0) + (hist.edges[i + 1] ?? 0)) / 2),
                  valueFormatter: (v: number) => v.toFixed(2),
                  label: '|activation|',
                  tickLabelInterval: (_v: number, i: number) => i % 8 === 0,
                },
              ]}
              yAxis={[{ label: 'count', width: 70, valueFormatter: (v: number | null) => (v === null ? '' : compact.format(v)) }]}
              series={[{ data: hist.counts, label: 'count', color: theme.palette.secondary.main }]}
              hideLegend
            />
          </Box>
        </Box>
      )}
    </Stack>
  );
}
