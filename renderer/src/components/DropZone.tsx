import { useEffect, useState } from 'react';
import { Alert, Box, LinearProgress, Paper, Snackbar, Typography } from '@mui/material';
import FileDownloadIcon from '@mui/icons-material/FileDownload';
import { formatBytes } from '../../../shared/format.js';
import type { StudioClient } from '../api/client.js';
import { useClient, useInfo } from '../app/client-context.js';
import { loadImages, openModel, openSpec } from '../wizard/actions.js';
import { useWizardStore } from '../store/wizard.js';
import { useJobStore } from '../store/job.js';
import { useOptionsStore } from '../store/options.js';
import { join } from '../store/paths.js';

function hasFiles(e: DragEvent): boolean {
  return Array.from(e.dataTransfer?.types ?? []).includes('Files');
}

const MODEL_RE = /\.(onnx|etlt|tlt)$/i;
const SPEC_RE = /\.(txt|spec|prototxt|cfg)$/i;
const IMAGE_RE = /\.(jpe?g|png|bmp|webp|tiff?)$/i;

/** What a drop means on the current step: the Spec step takes a spec, Calibration an image folder, the rest a model. */
type Target = 'model' | 'spec' | 'images';
const TARGET_TEXT: Record<Target, { title: string; detail: string }> = {
  model: { title: 'Drop the model to open it', detail: '.onnx, .etlt or .tlt' },
  spec: { title: 'Drop the experiment spec', detail: 'protobuf text (.txt)' },
  images: { title: 'Drop an image folder (or images) to calibrate with', detail: '.jpg, .png, .bmp, .webp, .tif' },
};

function targetOf(): Target {
  const step = useWizardStore.getState().step;
  return step === 'spec' ? 'spec' : step === 'calibration' ? 'images' : 'model';
}

interface Dropped {
  files: File[];
  /** The dropped folder's name, when a folder was dropped. */
  folder?: string;
}

/** The dropped files; a dropped folder's top-level files (sub-folders are not searched, as for --cal_image_dir). */
async function droppedFiles(dt: DataTransfer): Promise<Dropped> {
  const entries = Array.from(dt.items)
    .map((i) => (typeof i.webkitGetAsEntry === 'function' ? i.webkitGetAsEntry() : null))
    .filter((x): x is FileSystemEntry => x !== null);
  const dirEntry = entries.find((x) => x.isDirectory) as FileSystemDirectoryEntry | undefined;
  if (!dirEntry) return { files: Array.from(dt.files) };
  const reader = dirEntry.createReader();
  const all: FileSystemEntry[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
    if (batch.length === 0) break;
    all.push(...batch);
  }
  const files = await Promise.all(all.filter((x) => x.isFile).map((x) => new Promise<File>((res, rej) => (x as FileSystemFileEntry).file(res, rej))));
  return { files, folder: dirEntry.name };
}

export interface UploadState {
  name: string;
  index: number;
  count: number;
  sent: number;
  total: number;
}

/** One workspace folder per page session, under the server's home (inside the browsable roots). */
let workspace: string | null = null;
function workspaceDir(home: string): string {
  workspace ??= join(join(home, 'export-studio-uploads'), new Date().toISOString().replace(/[:.]/g, '-').replace(/Z$/, ''));
  return workspace;
}

/** Web mode: upload what was dropped, then open it as the step expects. Returns an error message or null. */
async function uploadDrop(client: StudioClient, home: string, target: Target, dropped: Dropped, onProgress: (u: UploadState | null) => void): Promise<string | null> {
  const upload = client.upload;
  if (!upload) return 'This server does not accept uploads: use Browse to pick the file on the server.';
  const first = dropped.files[0];
  let files: File[];
  let dir = workspaceDir(home);
  if (target === 'images') {
    files = dropped.files.filter((f) => IMAGE_RE.test(f.name));
    if (files.length === 0) return `Nothing to calibrate with: no images (${TARGET_TEXT.images.detail}) in what was dropped.`;
    dir = join(dir, dropped.folder ?? 'dropped-images');
  } else {
    if (!first || dropped.folder) return target === 'model' ? 'Drop a model file (.onnx, .etlt or .tlt), not a folder.' : 'Drop the spec file, not a folder.';
    if (target === 'model' && !MODEL_RE.test(first.name)) return `“${first.name}” is not a model (.onnx, .etlt or .tlt).`;
    if (target === 'spec' && !SPEC_RE.test(first.name)) return `“${first.name}” is not an experiment spec (protobuf text, .txt).`;
    files = [first];
  }
  const total = files.reduce((n, f) => n + f.size, 0);
  let before = 0;
  let lastPath = '';
  for (const [index, f] of files.entries()) {
    const r = await upload(f, dir, f.name, (sent) => onProgress({ name: f.name, index, count: files.length, sent: before + sent, total }));
    if (!r.ok) {
      onProgress(null);
      return `Upload of “${f.name}” failed: ${r.error.message}. ${r.error.hint}`;
    }
    before += f.size;
    lastPath = r.value.path;
  }
  onProgress(null);
  if (target === 'model') {
    useWizardStore.getState().goto('model');
    void openModel(client, lastPath);
  } else if (target === 'spec') void openSpec(client, lastPath);
  else {
    useOptionsStore.getState().setCalibration({ source: 'image-dir' });
    void loadImages(client, dir);
  }
  return null;
}

/**
 * Drop anywhere on the window: a model (a spec on the Spec step, an image folder on the
 * Calibration step). dragover/drop are cancelled on the document so a drop never navigates the
 * window to file://. In the app the preload turns the File into a path; in web mode the browser
 * never reveals paths, so the drop is an upload into a workspace folder on the server (inside the
 * browsable roots, size-limited, with progress), then opened from there.
 */
export function DropZone() {
  const client = useClient();
  const info = useInfo();
  const [over, setOver] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const [upload, setUpload] = useState<UploadState | null>(null);
  const [target, setTarget] = useState<Target>('model');

  useEffect(() => {
    let depth = 0;
    const onEnter = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      depth++;
      setTarget(targetOf());
      setOver(true);
    };
    const onLeave = () => {
      depth = Math.max(0, depth - 1);
      if (depth === 0) setOver(false);
    };
    const onOver = (e: DragEvent) => {
      e.preventDefault();
      if (e.dataTransfer) e.dataTransfer.dropEffect = hasFiles(e) ? 'copy' : 'none';
    };
    const onDrop = (e: DragEvent) => {
      e.preventDefault();
      depth = 0;
      setOver(false);
      const dt = e.dataTransfer;
      const file = dt?.files[0];
      if (!dt || !file) return;
      const status = useJobStore.getState().status;
      if (status === 'running' || status === 'starting') {
        setMessage('An export is running: wait for it or cancel it before opening another model.');
        return;
      }
      const t = targetOf();
      const path = client.pathForFile(file);
      if (!path) {
        // Web mode: the drop is an upload (the entries must be read before this handler returns).
        if (!client.upload || !info) {
          setMessage(`“${file.name}”: a browser page cannot see where a dropped file lives. Use Browse to pick it on the server.`);
          return;
        }
        const home = info.homeDir;
        void droppedFiles(dt)
          .then((d) => uploadDrop(client, home, t, d, setUpload))
          .then((m) => m && setMessage(m));
        return;
      }
      if (t === 'spec') {
        if (!SPEC_RE.test(path)) setMessage(`“${file.name}” is not an experiment spec (protobuf text, .txt).`);
        else void openSpec(client, path);
        return;
      }
      if (t === 'images') {
        useOptionsStore.getState().setCalibration({ source: 'image-dir' });
        void loadImages(client, IMAGE_RE.test(path) ? path.replace(/[\\/][^\\/]*$/, '') : path);
        return;
      }
      if (!MODEL_RE.test(path)) {
        setMessage(`“${file.name}” is not a model (.onnx, .etlt or .tlt).`);
        return;
      }
      useWizardStore.getState().goto('model');
      void openModel(client, path, { canStoreKeys: info?.canStoreKeys ?? false });
    };
    document.addEventListener('dragenter', onEnter);
    document.addEventListener('dragleave', onLeave);
    document.addEventListener('dragover', onOver);
    document.addEventListener('drop', onDrop);
    return () => {
      document.removeEventListener('dragenter', onEnter);
      document.removeEventListener('dragleave', onLeave);
      document.removeEventListener('dragover', onOver);
      document.removeEventListener('drop', onDrop);
    };
  }, [client, info]);

  return (
    <>
      {over && (
        <Box
          data-testid="drop-overlay"
          sx={{
            position: 'fixed',
            inset: 0,
            zIndex: (t) => t.zIndex.modal + 1,
            bgcolor: 'rgba(0,0,0,0.45)',
            display: 'flex',
            alignItems: 'center',
            justifyContent: 'center',
            pointerEvents: 'none',
          }}
        >
          <Box sx={{ p: 5, borderRadius: 3, border: '3px dashed', borderColor: 'primary.main', bgcolor: 'background.paper', textAlign: 'center' }}>
            <FileDownloadIcon color="primary" sx={{ fontSize: 56 }} />
            <Typography variant="h6">{TARGET_TEXT[target].title}</Typography>
            <Typography color="text.secondary">{TARGET_TEXT[target].detail}</Typography>
            {client.upload && (
              <Typography variant="body2" color="text.secondary">
                It is uploaded to the server, into {info ? join(info.homeDir, 'export-studio-uploads') : 'a workspace folder'}
              </Typography>
            )}
          </Box>
        </Box>
      )}
      {upload && (
        <Paper role="status" data-testid="upload-progress" elevation={6} variant="elevation" sx={{ position: 'fixed', left: 16, bottom: 16, p: 2, width: 360, zIndex: (t) => t.zIndex.snackbar }}>
          <Typography variant="body2" noWrap title={upload.name}>
            Uploading {upload.count > 1 ? `${upload.index + 1} of ${upload.count}: ` : ''}
            {upload.name}
          </Typography>
          <LinearProgress variant="determinate" value={upload.total > 0 ? (100 * upload.sent) / upload.total : 0} sx={{ my: 1 }} aria-label="Upload progress" />
          <Typography variant="caption" color="text.secondary">
            {formatBytes(upload.sent)} of {formatBytes(upload.total)}
          </Typography>
        </Paper>
      )}
      <Snackbar open={message !== null} autoHideDuration={8000} onClose={() => setMessage(null)} anchorOrigin={{ vertical: 'bottom', horizontal: 'center' }}>
        <Alert severity="info" onClose={() => setMessage(null)} data-testid="drop-message" variant="filled">
          {message}
        </Alert>
      </Snackbar>
    </>
  );
}
