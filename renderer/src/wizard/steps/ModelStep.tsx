import { Alert, Stack, Typography } from '@mui/material';
import LockIcon from '@mui/icons-material/Lock';
import { RecentList } from '../../components/RecentList.js';
import { useClient, useInfo } from '../../app/client-context.js';
import { PathField } from '../../components/PathField.js';
import { ErrorAlert } from '../../components/ErrorAlert.js';
import { CheckStatus } from '../../components/CheckStatus.js';
import { ModelCard } from '../../components/ModelCard.js';
import { needsKey, setModelPath, useSourceStore } from '../../store/source.js';
import { openModel } from '../actions.js';

export function ModelStep() {
  const client = useClient();
  const info = useInfo();
  const modelPath = useSourceStore((s) => s.modelPath);
  const check = useSourceStore((s) => s.modelCheck);
  const model = useSourceStore((s) => s.model);
  const canStoreKeys = info?.canStoreKeys ?? false;

  const open = (p: string) => void openModel(client, p, { canStoreKeys });

  return (
    <Stack spacing={2}>
      <Typography color="text.secondary">
        A TAO Mask R-CNN model (<code>.tlt</code>, <code>.etlt</code>) or a plain <code>.onnx</code>. Drop it anywhere on this window, type its path or browse.
      </Typography>
      <PathField
        label="Model file"
        value={modelPath}
        kind="model"
        testId="model-path"
        onChange={(v) => useSourceStore.getState().update((s) => setModelPath(s, v))}
        onCommit={open}
        startDir={info?.homeDir ?? null}
        placeholder="/path/to/model.tlt"
        autoFocus
      />
      <CheckStatus check={check} okText={needsKey(modelPath) ? 'Found the encrypted model' : 'Opened the model'} testId="model-status" />
      {check.status === 'error' && <ErrorAlert error={check.error} />}
      {check.status === 'ok' && needsKey(modelPath) && !model && (
        <Alert severity="info" icon={<LockIcon />} data-testid="model-encrypted">
          This model is encrypted. Its card appears once the key is checked in the next step.
        </Alert>
      )}
      {model && <ModelCard model={model} />}
      <RecentList kind="model" title="Recent models" current={modelPath} onOpen={open} refresh={check.status} />
    </Stack>
  );
}
