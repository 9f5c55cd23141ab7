import { useEffect, useState } from 'react';
import { Box, CircularProgress, Stack, Typography } from '@mui/material';
import type { TensorPreview as Preview } from '../../../shared/api.js';
import type { StudioErrorData } from '../../../shared/errors.js';
import type { Preprocessing, ResizeMode } from '../../../shared/request.js';
import { useApi } from '../app/client-context.js';
import { MONO } from '../app/theme.js';
import { ErrorAlert } from '../components/ErrorAlert.js';

interface Props {
  imageId: string | null;
  imageName: string;
  specPath: string | null;
  /** Spec-less preprocessing (ignored with a spec). */
  preprocessing: Preprocessing;
  resize: ResizeMode;
}

const fmt = (xs: number[]) => `[${xs.map((x) => +x.toFixed(4)).join(', ')}]`;

/** The exact tensor the model will see for the focused image (de-normalised for display). */
export function TensorPreview({ imageId, imageName, specPath, preprocessing, resize }: Props) {
  const api = useApi();
  // The preview with the image it belongs to: never shown under another image's name.
  const ppKey = JSON.stringify(preprocessing);
  const want = `${imageId ?? ''}|${specPath ?? ''}|${ppKey}|${resize}`;
  const [shown, setShown] = useState<{ key: string; preview: Preview } | null>(null);
  const preview = shown && shown.key === want ? shown.preview : null;
  const [error, setError] = useState<StudioErrorData | null>(null);
  const [loading, setLoading] = useState(false);

  useEffect(() => {
    if (!imageId) return;
    let live = true;
    // Arrow-key browsing fires many focus changes: wait until it settles.
    const t = setTimeout(() => {
      setLoading(true);
      void api.previewTensor(imageId, specPath, specPath ? null : (JSON.parse(ppKey) as Preprocessing), resize).then((r) => {
        if (!live) return;
        setLoading(false);
        if (r.ok) {
          setShown({ key: want, preview: r.value });
          setError(null);
        } else {
          setShown(null);
          setError(r.error);
        }
      });
    }, 150);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [api, imageId, specPath, ppKey, resize, want]);

  if (!imageId) return <Typography color="text.secondary">Focus an image to preview its tensor.</Typography>;
  return (
    <Stack spacing={1} data-testid="tensor-preview" aria-live="polite">
      <Stack direction="row" spacing={1} sx={{ alignItems: 'center' }}>
        <Typography variant="subtitle2" noWrap sx={{ flex: 1 }} title={imageName}>
          Model input for {imageName}
        </Typography>
        {loading && <CircularProgress size={16} aria-label="Computing preview" />}
      </Stack>
      {error && <ErrorAlert error={error} />}
      {preview && (
        <>
          <Box sx={{ position: 'relative', width: '100%', aspectRatio: `${preview.width} / ${preview.height}`, bgcolor: '#000', borderRadius: 1, overflow: 'hidden' }}>
            <img
              src={preview.png}
              alt={`Tensor preview, ${preview.width}×${preview.height}`}
              style={{ width: '100%', height: '100%', display: 'block', imageRendering: 'auto' }}
              data-testid="tensor-preview-image"
            />
            <Box
              aria-hidden
              sx={{
                position: 'absolute',
                left: 0,
                top: 0,
                width: `${(preview.content.width / preview.width) * 100}%`,
                height: `${(preview.content.height / preview.height) * 100}%`,
                border: '2px dashed',
                borderColor: 'warning.main',
                pointerEvents: 'none',
              }}
            />
          </Box>
          <Typography variant="caption" sx={{ fontFamily: MONO, whiteSpace: 'pre-wrap' }} component="div" data-testid="tensor-preview-stats">
            {`${preview.preprocessing.layout.toUpperCase()} ${preview.height}×${preview.width}, image ${preview.content.height}×${preview.content.width}` +
              (preview.content.width < preview.width || preview.content.height < preview.height ? ' + zero pad (dashed = image)' : '') +
              `\nmin ${preview.stats.min.toFixed(3)}  max ${preview.stats.max.toFixed(3)}  mean ${preview.stats.mean.toFixed(3)}` +
              `\n${preview.preprocessing.order.toUpperCase()}, mean ${fmt(preview.preprocessing.mean)}, scale ${fmt(preview.preprocessing.scale)}` +
              `\nresize ${preview.preprocessing.resize}; from ${preview.preprocessing.origin}`}
          </Typography>
        </>
      )}
    </Stack>
  );
}
