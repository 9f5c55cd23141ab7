import { Alert, Box, Chip, Stack, Table, TableBody, TableCell, TableHead, TableRow, Typography } from '@mui/material';
import ExtensionIcon from '@mui/icons-material/Extension';
import type { ModelSummary, TensorInfo } from '../../../shared/report.js';
import { formatBytes } from '../../../shared/format.js';
import { MONO } from '../app/theme.js';

function shape(t: TensorInfo): string {
  if (!t.shape) return '?';
  return `[${t.shape.map((d) => (d === null ? '?' : String(d))).join(', ')}]`;
}

function TensorTable({ title, tensors }: { title: string; tensors: TensorInfo[] }) {
  return (
    <Table size="small" aria-label={title}>
      <TableHead>
        <TableRow>
          <TableCell>{title}</TableCell>
          <TableCell>Type</TableCell>
          <TableCell>Shape</TableCell>
        </TableRow>
      </TableHead>
      <TableBody>
        {tensors.map((t) => (
          <TableRow key={t.name}>
            <TableCell sx={{ fontFamily: MONO, wordBreak: 'break-all' }}>{t.name}</TableCell>
            <TableCell>{t.type}</TableCell>
            <TableCell sx={{ fontFamily: MONO }}>{shape(t)}</TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}

/** The model card: I/O tensors, opsets, op counts, plugin ops flagged. */
export function ModelCard({ model }: { model: ModelSummary }) {
  const ops = Object.entries(model.opCounts).sort((a, b) => b[1] - a[1]);
  const opsets = model.opsets.map((o) => `${o.domain || 'ai.onnx'} ${o.version}`).join(', ');
  return (
    <Box data-testid="model-card" sx={{ border: 1, borderColor: 'divider', borderRadius: 2, p: 2 }}>
      <Stack direction="row" spacing={1} sx={{ flexWrap: 'wrap', alignItems: 'center', mb: 1.5 }} useFlexGap>
        <Chip label={model.format.toUpperCase()} color="primary" size="small" />
        <Typography variant="body2">
          {model.producer} · IR {model.irVersion} · opset {opsets}
        </Typography>
        <Typography variant="body2" color="text.secondary">
          · {model.nodeCount.toLocaleString()} nodes · {(model.parameterCount / 1e6).toFixed(1)} M parameters · {formatBytes(model.bytes)}
        </Typography>
      </Stack>
      <Box sx={{ display: 'grid', gridTemplateColumns: { xs: '1fr', md: '1fr 1fr' }, gap: 2 }}>
        <TensorTable title="Inputs" tensors={model.inputs} />
        <TensorTable title="Outputs" tensors={model.outputs} />
      </Box>
      {model.customOps.length > 0 && (
        <Alert severity="warning" icon={<ExtensionIcon />} sx={{ mt: 2 }} data-testid="plugin-ops">
          <Typography variant="body2" sx={{ mb: 0.5 }}>
            {model.customOps.reduce((n, o) => n + o.count, 0)} TensorRT plugin op(s): ONNX Runtime cannot run them, so INT8 calibration covers the runnable part of the graph and TensorRT
            supplies the plugins at build time.
          </Typography>
          <Stack direction="row" spacing={0.5} useFlexGap sx={{ flexWrap: 'wrap' }}>
            {model.customOps.map((o) => (
              <Chip key={`${o.domain}:${o.opType}`} size="small" color="warning" variant="outlined" label={`${o.opType} ×${o.count}`} title={o.domain} sx={{ fontFamily: MONO }} />
            ))}
          </Stack>
        </Alert>
      )}
      <Typography variant="subtitle2" sx={{ mt: 2, mb: 0.5 }}>
        Operators
      </Typography>
      <Stack direction="row" spacing={0.5} useFlexGap sx={{ flexWrap: 'wrap' }} aria-label="Operator counts">
        {ops.map(([op, n]) => (
          <Chip key={op} size="small" variant="outlined" label={`${op} ${n}`} />
        ))}
      </Stack>
      {model.externalData && (
        <Alert severity="info" sx={{ mt: 2 }}>
          Weights live in external data files beside the model.
        </Alert>
      )}
      <Typography variant="caption" color="text.secondary" sx={{ display: 'block', mt: 1.5, fontFamily: MONO, wordBreak: 'break-all' }}>
        sha256 {model.sha256}
      </Typography>
    </Box>
  );
}
