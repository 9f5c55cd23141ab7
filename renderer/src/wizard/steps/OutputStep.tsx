import { useEffect, useState } from 'react';
import { Accordion, AccordionDetails, AccordionSummary, Alert, Box, FormControlLabel, LinearProgress, MenuItem, Paper, Radio, Stack, Switch, TextField, Typography } from '@mui/material';
import ExpandMoreIcon from '@mui/icons-material/ExpandMore';
import { formatBytes } from '../../../../shared/format.js';
import MemoryIcon from '@mui/icons-material/Memory';
import DeveloperBoardIcon from '@mui/icons-material/DeveloperBoard';
import { INSTALL_CUDA_COMMAND, type GpuList } from '../../../../shared/api.js';
import type { StudioErrorData } from '../../../../shared/errors.js';
import { useApi } from '../../app/client-context.js';
import { PathField } from '../../components/PathField.js';
import { ErrorAlert } from '../../components/ErrorAlert.js';
import { useOptionsStore } from '../../store/options.js';
import { useSourceStore } from '../../store/source.js';
import { useSettingsStore } from '../../store/settings.js';
import { effectiveCache, effectiveEtlt, effectivePlainOnnx } from '../../store/request.js';
import { basename, dirname, join, sibling } from '../../store/paths.js';
import { FIDELITY_SWITCH_LABEL, useFidelityOption } from '../FidelityPanel.js';
import { DEFAULT_DS_CUSTOM_LIB, DEFAULT_TRT_VERSION, TRT_TARGETS, TRT_VERSION_RE } from '../../../../shared/request.js';

/**
 * The deployment target: the TensorRT version the cache header, the trtexec line and the
 * TensorRT 11 checks follow, and (with a DeepStream config) where the Mask R-CNN parser library
 * is on the target (custom-lib-path). Both are remembered in the settings.
 */
function DeploymentTarget() {
  const trtVersion = useOptionsStore((s) => s.trtVersion);
  const dsConfig = useOptionsStore((s) => s.outputs.dsConfig);
  const dsCustomLib = useOptionsStore((s) => s.outputs.dsCustomLib);
  const precision = useOptionsStore((s) => s.precision);
  const qdq = useOptionsStore((s) => s.outputs.qdq);
  const [custom, setCustom] = useState(() => !TRT_TARGETS.some((t) => t.trtVersion === trtVersion));
  useEffect(() => {
    // Last session's choices, unless this session already changed them.
    const saved = useSettingsStore.getState().settings;
    const o = useOptionsStore.getState();
    if (saved?.trtVersion && o.trtVersion === DEFAULT_TRT_VERSION) {
      o.setTrtVersion(saved.trtVersion);
      setCustom(!TRT_TARGETS.some((t) => t.trtVersion === saved.trtVersion));
    }
    if (saved?.dsCustomLib && o.outputs.dsCustomLib === '') o.setOutputs({ dsCustomLib: saved.dsCustomLib });
  }, []);
  const valid = TRT_VERSION_RE.test(trtVersion.trim());
  const major = Number(trtVersion.split('.')[0]);
  return (
    <Stack spacing={1.5} data-testid="deployment-target">
      <Typography variant="subtitle1" component="h3">
        Deployment target
      </Typography>
      <Stack direction={{ xs: 'column', sm: 'row' }} spacing={1.5}>
        <TextField
          select
          label="Target TensorRT"
          value={custom ? 'other' : trtVersion}
          onChange={(e) => {
            if (e.target.value === 'other') setCustom(true);
            else {
              setCustom(false);
              useOptionsStore.getState().setTrtVersion(e.target.value);
            }
          }}
          helperText="The calibration cache header carries this exact version; TensorRT recalibrates a cache from another version"
          data-testid="output-trt-version"
          sx={{ minWidth: 300 }}
        >
          {TRT_TARGETS.map((t) => (
            <MenuItem key={t.trtVersion} value={t.trtVersion}>
              TensorRT {t.trtVersion} ({t.label})
            </MenuItem>
          ))}
          <MenuItem value="other">Other version…</MenuItem>
        </TextField>
        {custom && (
          <TextField
            label="TensorRT version"
            value={trtVersion}
            onChange={(e) => useOptionsStore.getState().setTrtVersion(e.target.value)}
            error={!valid}
            helperText={valid ? 'MAJOR.MINOR.PATCH' : 'Give MAJOR.MINOR.PATCH, e.g. 10.16.0'}
            slotProps={{ htmlInput: { 'data-testid': 'output-trt-version-custom' } }}
          />
        )}
      </Stack>
      {precision === 'int8' && valid && major >= 11 && !qdq && (
        <Alert severity="error">TensorRT 11 has no implicit INT8 (no calibration cache): turn on the Q/DQ ONNX model, or target TensorRT 10.</Alert>
      )}
      {dsConfig && (
        <TextField
          label="DeepStream parser library (custom-lib-path)"
          value={dsCustomLib}
          placeholder={DEFAULT_DS_CUSTOM_LIB}
          onChange={(e) => useOptionsStore.getState().setOutputs({ dsCustomLib: e.target.value })}
          helperText="libnvds_infercustomparser_tao.so as built by make in deepstream_tao_apps/post_processor on the DeepStream machine; empty = the path shown"
          slotProps={{ htmlInput: { 'data-testid': 'output-ds-custom-lib' } }}
          fullWidth
        />
      )}
    </Stack>
  );
}

function GpuCard({ selected, onSelect, title, children, testId }: { selected: boolean; onSelect(): void; title: string; children: React.ReactNode; testId: string }) {
  return (
    <Paper
      component="label"
      data-testid={testId}
      sx={{ p: 1.5, display: 'flex', gap: 1, cursor: 'pointer', borderWidth: 2, borderColor: selected ? 'primary.main' : 'divider', '&:focus-within': { outline: 2, outlineColor: 'secondary.main', outlineOffset: 2 } }}
    >
      <Radio checked={selected} onChange={onSelect} name="gpu" slotProps={{ input: { 'aria-label': title } }} sx={{ mt: -1, ml: -1 }} />
      <Box sx={{ flex: 1, minWidth: 0 }}>{children}</Box>
    </Paper>
  );
}

function GpuPicker() {
  const api = useApi();
  const gpu = useOptionsStore((s) => s.gpu);
  const [list, setList] = useState<GpuList | null>(null);
  const [error, setError] = useState<StudioErrorData | null>(null);
  const pick = (g: number | 'cpu') => useOptionsStore.getState().setGpu(g);

  useEffect(() => {
    void api.gpus().then((r) => {
      if (r.ok) {
        setList(r.value);
        const cur = useOptionsStore.getState().gpu;
        const last = useSettingsStore.getState().settings?.lastGpu;
        const has = (g: number | 'cpu' | undefined) => g === 'cpu' || r.value.gpus.some((x) => x.index === g);
        // Last session's choice when it still exists, else the first GPU, else CPU.
        if (!useOptionsStore.getState().gpuChosen && last !== undefined && has(last)) useOptionsStore.getState().setGpu(last, false);
        else if (!has(cur)) useOptionsStore.getState().setGpu(r.value.gpus[0]?.index ?? 'cpu', false);
      } else {
        setError(r.error);
        useOptionsStore.getState().setGpu('cpu', false);
      }
    });
  }, [api]);

  return (
    <Stack spacing={1} role="radiogroup" aria-label="Device for calibration and checks" data-testid="gpu-picker">
      {!list && !error && <LinearProgress aria-label="Looking for GPUs" />}
      {error && <ErrorAlert error={error} severity="warning" />}
      {list?.gpus.map((g) => {
        const mem = g.memoryUsedMiB !== null && g.memoryTotalMiB ? g.memoryUsedMiB / g.memoryTotalMiB : null;
        return (
          <GpuCard key={g.index} selected={gpu === g.index} onSelect={() => pick(g.index)} title={`GPU ${g.index}: ${g.name}`} testId={`gpu-${g.index}`}>
            <Stack direction="row" spacing={1} sx={{ alignItems: 'center' }}>
              <DeveloperBoardIcon fontSize="small" />
              <Typography sx={{ fontWeight: 600 }}>
                GPU {g.index}: {g.name}
              </Typography>
              <Typography variant="caption" color="text.secondary">
                {g.pciBusId}
              </Typography>
            </Stack>
            <Stack direction="row" spacing={2} sx={{ alignItems: 'center', mt: 0.5 }}>
              <Box sx={{ flex: 1 }}>
                <LinearProgress variant="determinate" value={(mem ?? 0) * 100} aria-label={`GPU ${g.index} memory used`} color={mem !== null && mem > 0.8 ? 'warning' : 'primary'} />
              </Box>
              <Typography variant="body2" sx={{ minWidth: 220 }}>
                {g.memoryUsedMiB !== null && g.memoryTotalMiB !== null ? `${(g.memoryUsedMiB / 1024).toFixed(1)} / ${(g.memoryTotalMiB / 1024).toFixed(1)} GiB used` : 'memory unknown'}
                {g.utilizationPct !== null ? ` · ${g.utilizationPct}% busy` : ''}
              </Typography>
            </Stack>
          </GpuCard>
        );
      })}
      {list && list.gpus.length > 0 && list.cudaProvider === 'missing' && (
        <Alert severity="info" data-testid="gpu-cuda-missing">
          ONNX Runtime&apos;s CUDA provider (CUDA 12, cuDNN 9) is not installed, so a GPU export runs on the CPU: the same results, slower. To use the GPU, run{' '}
          <code>{INSTALL_CUDA_COMMAND}</code> in the Export Studio folder (needs network access), then restart.
        </Alert>
      )}
      {(list || error) && (
        <GpuCard selected={gpu === 'cpu'} onSelect={() => pick('cpu')} title="CPU" testId="gpu-cpu">
          <Stack direction="row" spacing={1} sx={{ alignItems: 'center' }}>
            <MemoryIcon fontSize="small" />
            <Typography sx={{ fontWeight: 600 }}>CPU</Typography>
            <Typography variant="body2" color="text.secondary">
              {list && list.gpus.length === 0 ? `No GPU: ${list.reason ?? 'none found'}` : 'slower, always available'}
            </Typography>
          </Stack>
        </GpuCard>
      )}
    </Stack>
  );
}

function IntField({ label, value, onChange, testId, helper }: { label: string; value: number; onChange(n: number): void; testId: string; helper?: string }) {
  const [text, setText] = useState(String(value));
  const n = Number(text);
  const bad = !(Number.isInteger(n) && n > 0);
  return (
    <TextField
      label={label}
      size="small"
      value={text}
      error={bad}
      helperText={bad ? 'A positive whole number' : helper}
      onChange={(e) => {
        setText(e.target.value);
        const v = Number(e.target.value);
        if (Number.isInteger(v) && v > 0) onChange(v);
      }}
      sx={{ width: 220 }}
      slotProps={{ htmlInput: { inputMode: 'numeric', 'data-testid': testId } }}
    />
  );
}

/** Every other option the CLI has, folded away (issue 8: the app exposes every pipeline option). */
function AdvancedOutputs({ etlt, int8 }: { etlt: string; int8: boolean }) {
  const out = useOptionsStore((s) => s.outputs);
  const adv = useOptionsStore((s) => s.advanced);
  const setOut = useOptionsStore.getState().setOutputs;
  const setAdv = useOptionsStore.getState().setAdvanced;
  const dir = dirname(etlt);
  return (
    <Accordion disableGutters variant="outlined" data-testid="output-advanced" slotProps={{ transition: { unmountOnExit: true } }}>
      <AccordionSummary expandIcon={<ExpandMoreIcon />} aria-controls="output-advanced-content" id="output-advanced-header" data-testid="output-advanced-toggle">
        <Typography>Advanced: extra outputs, engine, batch size, log</Typography>
      </AccordionSummary>
      <AccordionDetails id="output-advanced-content">
        <Stack spacing={2}>
          <PathField label="Plain ONNX (--onnx_file)" value={out.onnx} kind="output-dir" testId="output-onnx" onChange={(v) => setOut({ onnx: v })} fromPicked={(d) => join(d, basename(sibling(etlt, '.onnx')))} placeholder={out.dsConfig ? sibling(etlt, '.onnx') : 'not written'} helperText="Empty: written beside the .etlt only with the DeepStream config" />
          {int8 && out.qdq && (
            <PathField label="Q/DQ ONNX (--qdq_file)" value={out.qdqPath} kind="output-dir" testId="output-qdq-path" onChange={(v) => setOut({ qdqPath: v })} fromPicked={(d) => join(d, basename(sibling(etlt, '.qdq.onnx')))} placeholder={sibling(etlt, '.qdq.onnx')} />
          )}
          {out.report && (
            <PathField label="Job report (--report_file)" value={out.reportPath} kind="output-dir" testId="output-report-path" onChange={(v) => setOut({ reportPath: v })} fromPicked={(d) => join(d, basename(sibling(etlt, '.report.json')))} placeholder={sibling(etlt, '.report.json')} />
          )}
          <PathField label="TensorRT engine (--engine_file)" value={out.engine} kind="output-dir" testId="output-engine" onChange={(v) => setOut({ engine: v })} fromPicked={(d) => join(d, basename(sibling(etlt, '.engine')))} placeholder="not built" helperText="Built with trtexec, which must be on the PATH of the machine running the export" />
          <PathField label="Log file (--log_file)" value={out.logFile} kind="output-dir" testId="output-log" onChange={(v) => setOut({ logFile: v })} fromPicked={(d) => join(d, 'export.log')} placeholder="not written" />
          <PathField label="TAO results folder (--results_dir)" value={out.resultsDir} kind="output-dir" testId="output-results-dir" onChange={(v) => setOut({ resultsDir: v })} fromPicked={(d) => d} placeholder={join(dir, 'results')} helperText="status.json goes there (created if missing)" />
          <Stack direction="row" spacing={2} useFlexGap sx={{ flexWrap: 'wrap' }}>
            <IntField label="Max batch size (--max_batch_size)" value={adv.maxBatchSize} onChange={(n) => setAdv({ maxBatchSize: n })} testId="output-max-batch" helper="DeepStream batch-size and engine" />
            <IntField label="Max workspace bytes" value={adv.maxWorkspaceSize} onChange={(n) => setAdv({ maxWorkspaceSize: n })} testId="output-workspace" helper={formatBytes(adv.maxWorkspaceSize)} />
          </Stack>
          {out.dsConfig && (
            <FormControlLabel
              control={<Switch checked={out.dsEmbedKey} onChange={(e) => setOut({ dsEmbedKey: e.target.checked })} />}
              label="Write TAO-style tlt-encoded-model / tlt-model-key lines into nvinfer_config.txt (puts the key in that file)"
              data-testid="output-ds-embed-key"
            />
          )}
          <FormControlLabel control={<Switch checked={adv.verbose} onChange={(e) => setAdv({ verbose: e.target.checked })} />} label="Verbose (debug) log" data-testid="output-verbose" />
        </Stack>
      </AccordionDetails>
    </Accordion>
  );
}

export function OutputStep() {
  const options = useOptionsStore();
  const modelPath = useSourceStore((s) => s.modelPath);
  const modelBytes = useSourceStore((s) => s.model?.bytes);
  const out = options.outputs;
  const int8 = options.precision === 'int8';
  const etlt = effectiveEtlt({ modelPath }, options);
  const cache = effectiveCache({ modelPath }, options);
  const setOut = useOptionsStore.getState().setOutputs;
  const fidelity = useFidelityOption();
  const plainOnnxPath = effectivePlainOnnx({ modelPath }, options);
  const plainOnnx = out.onnx.trim() ? null : out.dsConfig ? `${basename(plainOnnxPath)} (plain, unencrypted ONNX${modelBytes ? `, about ${formatBytes(modelBytes)}` : ''}: DeepStream reads it, it cannot decrypt the .etlt)` : null;
  const alsoWritten = [
    plainOnnx,
    out.dsConfig ? 'nvinfer_config.txt, labels.txt' : null,
    int8 && out.qdq && !out.qdqPath.trim() ? basename(sibling(etlt, '.qdq.onnx')) : null,
    out.report && !out.reportPath.trim() ? basename(sibling(etlt, '.report.json')) : null,
  ].filter((x): x is string => Boolean(x));

  return (
    <Stack spacing={2.5}>
      <PathField
        label="Output model (.etlt)"
        value={etlt}
        kind="output-dir"
        testId="output-etlt"
        onChange={(v) => setOut({ etlt: v, etltEdited: true })}
        fromPicked={(dir) => join(dir, basename(etlt) || 'model.etlt')}
        helperText={
          alsoWritten.length > 0 ? `Also written in ${dirname(etlt) || 'this folder'}: ${alsoWritten.join(', ')}` : 'Only the .etlt is written.'
        }
      />
      <Stack spacing={0.5}>
        <FormControlLabel
          control={<Switch checked={out.dsConfig} onChange={(e) => setOut({ dsConfig: e.target.checked })} />}
          label="Write a DeepStream config (nvinfer_config.txt + labels.txt)"
          data-testid="output-ds-config"
        />
        {int8 && (
          <FormControlLabel
            control={<Switch checked={out.qdq} onChange={(e) => setOut({ qdq: e.target.checked })} />}
            label="Write a Q/DQ ONNX model (explicit quantization, TensorRT ≥ 10.1)"
            data-testid="output-qdq"
          />
        )}
        {int8 && (
          <FormControlLabel
            control={<Switch checked={fidelity.enabled} onChange={(e) => fidelity.setEnabled(e.target.checked)} />}
            label={FIDELITY_SWITCH_LABEL}
            data-testid="output-fidelity"
          />
        )}
        <FormControlLabel
          control={<Switch checked={out.report} onChange={(e) => setOut({ report: e.target.checked })} />}
          label="Write a JSON report of the job (.report.json)"
          data-testid="output-report"
        />
        <FormControlLabel
          control={<Switch checked={out.overwrite} onChange={(e) => setOut({ overwrite: e.target.checked })} />}
          label="Overwrite existing files"
          data-testid="output-overwrite"
        />
      </Stack>
      {int8 && (
        <PathField
          label="Calibration cache"
          value={cache}
          kind="output-dir"
          testId="output-cache"
          onChange={(v) => setOut({ cache: v, cacheEdited: true })}
          fromPicked={(dir) => join(dir, basename(cache) || 'cal.bin')}
          helperText="TensorRT text cache; its provenance goes to <cache>.json"
        />
      )}
      {out.overwrite && <Alert severity="warning">Existing outputs will be replaced (each one only once it is completely written).</Alert>}
      <DeploymentTarget />
      <AdvancedOutputs etlt={etlt} int8={int8} />
      <Typography variant="subtitle1" component="h3">
        Device
      </Typography>
      <GpuPicker />
      {dirname(etlt) === '.' && etlt !== '' && <Alert severity="info">A relative output path is resolved against the folder the app or server was started in.</Alert>}
    </Stack>
  );
}
