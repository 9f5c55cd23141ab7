import { useEffect, useMemo, useState } from 'react';
import {
  Alert,
  Box,
  Button,
  Checkbox,
  FormControl,
  FormControlLabel,
  FormLabel,
  InputLabel,
  LinearProgress,
  MenuItem,
  Radio,
  RadioGroup,
  Select,
  Stack,
  TextField,
  Typography,
} from '@mui/material';
import type { CalibrationAlgorithm, ResizeMode } from '../../../../shared/request.js';
import { useClient, useInfo } from '../../app/client-context.js';
import { PathField } from '../../components/PathField.js';
import { RecentList } from '../../components/RecentList.js';
import { ErrorAlert } from '../../components/ErrorAlert.js';
import { useOptionsStore, type CalSourceChoice } from '../../store/options.js';
import { useSourceStore } from '../../store/source.js';
import { useImagesStore } from '../../store/images.js';
import { nameMatcher, sampleNeed } from '../../store/selection.js';
import { effectiveCache, preprocessingFor } from '../../store/request.js';
import { dirname } from '../../store/paths.js';
import { loadImages } from '../actions.js';
import { ThumbnailGrid } from '../ThumbnailGrid.js';
import { TensorPreview } from '../TensorPreview.js';
import { Int8TargetField } from '../Int8Target.js';
import { OptionLabel } from '../../components/OptionLabel.js';

function NumberField({ label, value, onChange, min = 1, testId, step, width = 140 }: { label: string; value: number; onChange(n: number): void; min?: number; testId: string; step?: number; width?: number }) {
  const [text, setText] = useState(String(value));
  const bad = !(Number(text) >= min) || text.trim() === '';
  return (
    <TextField
      label={label}
      type="number"
      size="small"
      value={text}
      error={bad}
      onChange={(e) => {
        setText(e.target.value);
        const n = Number(e.target.value);
        if (e.target.value.trim() !== '' && Number.isFinite(n) && n >= min) onChange(n);
      }}
      sx={{ width }}
      slotProps={{ htmlInput: { min, step: step ?? 1, 'data-testid': testId } }}
    />
  );
}

function ImagePicker() {
  const client = useClient();
  const info = useInfo();
  const cal = useOptionsStore((s) => s.calibration);
  const images = useImagesStore();
  const specPath = useSourceStore((s) => s.specPath);
  const preset = useSourceStore((s) => s.preset);
  const pp = useSourceStore((s) => s.pp);
  const preprocessing = useMemo(() => preprocessingFor({ preset, pp }), [preset, pp]);
  const modelPath = useSourceStore((s) => s.modelPath);
  const [randomN, setRandomN] = useState(String(cal.batches * cal.batchSize));

  const [selectedOnly, setSelectedOnly] = useState(false);
  const byName = useMemo(() => {
    const m = nameMatcher(images.filter);
    return images.images.filter((i) => m(i.name));
  }, [images.images, images.filter]);
  // Same array identity when "selected only" is off, so toggling a tile keeps the visible order.
  const visible = useMemo(() => (selectedOnly ? byName.filter((i) => images.selection.selected.has(i.id)) : byName), [byName, selectedOnly, images.selection]);
  const ids = useMemo(() => visible.map((i) => i.id), [visible]);
  const need = sampleNeed(images.selection.selected.size, cal.batches, cal.batchSize);
  const focused = images.images.find((i) => i.id === images.focused) ?? null;
  const st = useImagesStore.getState();

  return (
    <Stack spacing={1.5}>
      <PathField
        label="Image folder"
        value={cal.imageDir}
        kind="images-dir"
        testId="cal-image-dir"
        onChange={(v) => useOptionsStore.getState().setCalibration({ imageDir: v })}
        onCommit={(v) => void loadImages(client, v)}
        startDir={modelPath ? dirname(modelPath) : (info?.homeDir ?? null)}
        helperText="Top-level .jpg, .jpeg, .png, .bmp, .webp and .tif(f) files"
      />
      {images.loading && <LinearProgress aria-label="Listing images" />}
      {images.images.length === 0 && !images.loading && (
        <RecentList kind="images-dir" title="Recent image folders" current={cal.imageDir} onOpen={(p) => void loadImages(client, p)} />
      )}
      {images.error && <ErrorAlert error={images.error} />}
      {images.images.length > 0 && (
        <>
          <Stack direction="row" spacing={1} useFlexGap sx={{ flexWrap: 'wrap', alignItems: 'center' }}>
            <TextField
              label="Filter by name"
              size="small"
              value={images.filter}
              onChange={(e) => st.patch({ filter: e.target.value })}
              placeholder="e.g. street or *.png"
              slotProps={{ htmlInput: { 'data-testid': 'thumb-filter' } }}
              sx={{ width: 220 }}
            />
            <Button size="small" onClick={() => st.all(ids)} data-testid="select-all">
              Select all{images.filter ? ' shown' : ''}
            </Button>
            <Button size="small" onClick={() => st.none()} data-testid="select-none">
              Select none
            </Button>
            <TextField
              label="N"
              size="small"
              type="number"
              value={randomN}
              onChange={(e) => setRandomN(e.target.value)}
              sx={{ width: 90 }}
              slotProps={{ htmlInput: { min: 1, 'data-testid': 'random-n', 'aria-label': 'Number of random images' } }}
            />
            <Button size="small" onClick={() => st.random(ids, Math.max(1, Math.floor(Number(randomN) || 0)), cal.seed)} data-testid="select-random">
              Random N (seed {cal.seed})
            </Button>
            <FormControlLabel
              control={<Checkbox size="small" checked={selectedOnly} onChange={(e) => setSelectedOnly(e.target.checked)} />}
              label="Selected only"
              data-testid="selected-only"
            />
            <Box sx={{ flex: 1 }} />
            <Typography variant="body2" data-testid="selection-count" role="status">
              <strong>{need.selected.toLocaleString()}</strong> selected of {images.images.length.toLocaleString()}
              {images.unreadable.size > 0 ? ` (${images.unreadable.size.toLocaleString()} unreadable, not used)` : ''} · {cal.batches} batches × {cal.batchSize} = {need.needed.toLocaleString()} needed
            </Typography>
          </Stack>
          {need.short > 0 && (
            <Alert severity="warning" data-testid="selection-short">
              {need.short.toLocaleString()} image(s) short of {cal.batches} × {cal.batchSize}. Select more, lower the batches, or allow fewer samples below.
            </Alert>
          )}
          <Box sx={{ display: 'grid', gridTemplateColumns: { xs: '1fr', md: 'minmax(0, 2fr) minmax(260px, 1fr)' }, gap: 2, alignItems: 'start' }}>
            <Box>
              <ThumbnailGrid
                images={visible}
                selected={images.selection.selected}
                unreadable={images.unreadable}
                onUnreadable={(id) => st.markUnreadable([id])}
                focusedId={images.focused}
                thumbnailUrl={(id) => client.api.thumbnailUrl(id, 160)}
                onToggle={(i, shift) => st.click(ids, i, shift)}
                onFocus={(i) => st.patch({ focused: ids[i] ?? null })}
              />
              <Typography variant="caption" color="text.secondary">
                Click toggles an image; Shift-click selects a range. Keyboard: arrows move, Space toggles, Shift+arrows extend.
              </Typography>
            </Box>
            <TensorPreview imageId={focused?.id ?? null} imageName={focused?.name ?? ''} specPath={specPath.trim() || null} preprocessing={preprocessing} resize={cal.resize} />
          </Box>
        </>
      )}
      <Int8TargetField />
    </Stack>
  );
}

export function CalibrationStep() {
  const cal = useOptionsStore((s) => s.calibration);
  const outputs = useOptionsStore((s) => s.outputs);
  const options = useOptionsStore();
  const spec = useSourceStore((s) => s.spec);
  const modelPath = useSourceStore((s) => s.modelPath);
  const set = useOptionsStore.getState().setCalibration;
  const records = spec?.trainingFiles.reduce((n, f) => n + f.records, 0) ?? 0;
  const specNeed = sampleNeed(records, cal.batches, cal.batchSize);
  const cachePath = effectiveCache({ modelPath }, options);

  // Without a spec the spec loader cannot work: start from an image folder instead.
  useEffect(() => {
    if (!spec && useOptionsStore.getState().calibration.source === 'spec-loader') set({ source: 'image-dir' });
  }, [spec, set]);

  const sources: { id: CalSourceChoice; label: string; detail: string; disabled?: boolean }[] = [
    {
      id: 'spec-loader',
      label: 'Spec data loader',
      detail: spec ? `${spec.trainingFiles.length} TFRecord file(s), ${records.toLocaleString()} records — the training pipeline's own images` : 'needs an experiment spec (Spec step)',
      disabled: !spec,
    },
    { id: 'image-dir', label: 'Image folder', detail: 'pick images from a folder (thumbnails, selection, preview)' },
    { id: 'tensorfile', label: 'Tensorfile', detail: 'a TAO HDF5 tensorfile of preprocessed batches' },
    { id: 'cache', label: 'Existing cache', detail: 'reuse a calibration cache; no calibration runs' },
  ];

  return (
    <Stack spacing={2.5}>
      <FormControl>
        <FormLabel id="cal-source-label">Calibration data</FormLabel>
        <RadioGroup aria-labelledby="cal-source-label" value={cal.source} onChange={(e) => set({ source: e.target.value as CalSourceChoice })} data-testid="cal-source">
          {sources.map((s) => (
            <FormControlLabel
              key={s.id}
              value={s.id}
              disabled={s.disabled ?? false}
              control={<Radio slotProps={{ input: { 'data-testid': `cal-source-${s.id}` } as Record<string, string> }} />}
              label={<OptionLabel label={s.label} detail={s.detail} />}
            />
          ))}
        </RadioGroup>
      </FormControl>

      {cal.source === 'spec-loader' && spec && specNeed.short > 0 && (
        <Alert severity="warning">
          The spec's TFRecords hold {records.toLocaleString()} records but {cal.batches} × {cal.batchSize} = {specNeed.needed.toLocaleString()} are needed.
        </Alert>
      )}
      {cal.source === 'image-dir' && <ImagePicker />}
      {cal.source === 'tensorfile' && (
        <Stack spacing={1}>
          <PathField label="Tensorfile" value={cal.tensorfile} kind="tensorfile" testId="cal-tensorfile" onChange={(v) => set({ tensorfile: v })} startDir={modelPath ? dirname(modelPath) : null} />
          <FormControlLabel
            control={<Checkbox checked={cal.writeTensorfile} onChange={(e) => set({ writeTensorfile: e.target.checked })} />}
            label="Create this tensorfile from the spec's data loader (instead of reading it)"
          />
        </Stack>
      )}
      {cal.source === 'cache' && (
        <PathField
          label="Existing calibration cache"
          value={cachePath}
          kind="cache"
          testId="cal-cache"
          onChange={(v) => useOptionsStore.getState().setOutputs({ cache: v, cacheEdited: true })}
          startDir={modelPath ? dirname(modelPath) : null}
          helperText={outputs.cacheEdited ? undefined : 'Defaults to the cache beside the output model'}
        />
      )}

      {cal.source !== 'cache' && (
        <>
          <Typography variant="subtitle1" component="h3">
            Parameters
          </Typography>
          <Stack direction="row" spacing={2} useFlexGap sx={{ flexWrap: 'wrap', alignItems: 'center' }}>
            <NumberField label="Batches" value={cal.batches} onChange={(n) => set({ batches: Math.floor(n) })} testId="cal-batches" />
            <NumberField label="Batch size" value={cal.batchSize} onChange={(n) => set({ batchSize: Math.floor(n) })} testId="cal-batch-size" />
            <NumberField label="Seed" value={cal.seed} min={0} onChange={(n) => set({ seed: Math.floor(n) })} testId="cal-seed" />
            <FormControl size="small" sx={{ width: 320 }}>
              <InputLabel id="cal-algo-label">Algorithm</InputLabel>
              <Select labelId="cal-algo-label" label="Algorithm" value={cal.algorithm} onChange={(e) => set({ algorithm: e.target.value as CalibrationAlgorithm })} data-testid="cal-algorithm">
                <MenuItem value="entropy">Entropy (TensorRT EntropyCalibration2)</MenuItem>
                <MenuItem value="minmax">Min-max</MenuItem>
                <MenuItem value="percentile">Percentile</MenuItem>
              </Select>
            </FormControl>
            {cal.algorithm === 'percentile' && (
              <NumberField label="Percentile" value={cal.percentile} min={0.0001} step={0.01} onChange={(n) => set({ percentile: Math.min(100, n) })} testId="cal-percentile" />
            )}
            {cal.algorithm !== 'minmax' && (
              <FormControl size="small" sx={{ width: 300 }}>
                <InputLabel id="cal-hist-label">Histogram</InputLabel>
                <Select labelId="cal-hist-label" label="Histogram" value={cal.histogram} onChange={(e) => set({ histogram: e.target.value as 'sampled' | 'exact' })} data-testid="cal-histogram">
                  <MenuItem value="sampled">Sampled (exact max, fast)</MenuItem>
                  <MenuItem value="exact">Exact (every value, 2–3× slower)</MenuItem>
                </Select>
              </FormControl>
            )}
          </Stack>
          <FormControl>
            <FormLabel id="resize-label">Resize</FormLabel>
            <RadioGroup row aria-labelledby="resize-label" value={cal.resize} onChange={(e) => set({ resize: e.target.value as ResizeMode })} data-testid="cal-resize">
              <FormControlLabel value="keep-aspect-pad" control={<Radio />} label="Keep aspect + pad (as in training)" />
              <FormControlLabel value="stretch" control={<Radio />} label="Stretch to W×H (TAO exporter parity)" />
            </RadioGroup>
          </FormControl>
          <FormControlLabel
            control={<Checkbox checked={cal.acceptFewer} onChange={(e) => set({ acceptFewer: e.target.checked })} />}
            label="Accept fewer usable samples than batches × batch size instead of failing"
            data-testid="cal-accept-fewer"
          />
          <FormControlLabel
            control={<Checkbox checked={cal.reuse === 'auto'} onChange={(e) => set({ reuse: e.target.checked ? 'auto' : 'never' })} />}
            label="Reuse an existing cache whose provenance matches (same model, data and settings) instead of recalibrating"
            data-testid="cal-reuse"
          />
        </>
      )}
      <Int8TargetField />
    </Stack>
  );
}
