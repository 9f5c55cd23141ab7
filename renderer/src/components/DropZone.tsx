import { useEffect, useState } from 'react';
import { Alert, Box, Snackbar, Typography } from '@mui/material';
import FileDownloadIcon from '@mui/icons-material/FileDownload';
import { useClient, useInfo } from '../app/client-context.js';
import { openModel } from '../wizard/actions.js';
import { useWizardStore } from '../store/wizard.js';
import { useJobStore } from '../store/job.js';

function hasFiles(e: DragEvent): boolean {
  return Array.from(e.dataTransfer?.types ?? []).includes('Files');
}

/**
 * Drop a model anywhere on the window. dragover/drop are cancelled on the document so a drop
 * never navigates the window to file://. In the app the preload turns the File into a path; a
 * browser never reveals paths, so web mode explains to use Browse.
 */
export function DropZone() {
  const client = useClient();
  const info = useInfo();
  const [over, setOver] = useState(false);
  const [message, setMessage] = useState<string | null>(null);

  useEffect(() => {
    let depth = 0;
    const onEnter = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      depth++;
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
      const file = e.dataTransfer?.files[0];
      if (!file) return;
      const status = useJobStore.getState().status;
      if (status === 'running' || status === 'starting') {
        setMessage('An export is running: wait for it or cancel it before opening another model.');
        return;
      }
      const path = client.pathForFile(file);
      if (!path) {
        setMessage(`“${file.name}”: a browser page cannot see where a dropped file lives. Use Browse to pick it on the server.`);
        return;
      }
      if (!/\.(onnx|etlt|tlt)$/i.test(path)) {
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
            <Typography variant="h6">Drop the model to open it</Typography>
            <Typography color="text.secondary">.onnx, .etlt or .tlt</Typography>
          </Box>
        </Box>
      )}
      <Snackbar open={message !== null} autoHideDuration={8000} onClose={() => setMessage(null)} anchorOrigin={{ vertical: 'bottom', horizontal: 'center' }}>
        <Alert severity="info" onClose={() => setMessage(null)} data-testid="drop-message" variant="filled">
          {message}
        </Alert>
      </Snackbar>
    </>
  );
}
