import { useState } from 'react';
import { Alert, Checkbox, FormControlLabel, IconButton, InputAdornment, Stack, TextField, Typography } from '@mui/material';
import Visibility from '@mui/icons-material/Visibility';
import VisibilityOff from '@mui/icons-material/VisibilityOff';
import { useClient, useInfo } from '../../app/client-context.js';
import { ErrorAlert } from '../../components/ErrorAlert.js';
import { CheckStatus } from '../../components/CheckStatus.js';
import { ModelCard } from '../../components/ModelCard.js';
import { needsKey, setKey, useSourceStore } from '../../store/source.js';
import { basename } from '../../store/paths.js';
import { checkKey } from '../actions.js';

export function KeyStep() {
  const client = useClient();
  const info = useInfo();
  const modelPath = useSourceStore((s) => s.modelPath);
  const key = useSourceStore((s) => s.key);
  const keyCheck = useSourceStore((s) => s.keyCheck);
  const checkedKey = useSourceStore((s) => s.checkedKey);
  const model = useSourceStore((s) => s.model);
  const rememberKey = useSourceStore((s) => s.rememberKey);
  const [show, setShow] = useState(false);
  const encrypted = needsKey(modelPath);

  const check = () => {
    if (encrypted && key !== '' && !(checkedKey === key && keyCheck.status !== 'idle')) void checkKey(client);
  };

  return (
    <Stack spacing={2}>
      <Typography color="text.secondary">
        {encrypted ? (
          <>
            <strong>{basename(modelPath)}</strong> is encrypted. Enter the key it was trained with; it is checked against the model right away. The key stays in memory and is masked
            everywhere it would be shown.
          </>
        ) : (
          <>
            This model is plain ONNX, so nothing needs decrypting. The key encrypts the .etlt that will be written: TAO and tao-converter need the same key to open it. DeepStream
            does not use it: the DeepStream config points at a plain ONNX copy.
          </>
        )}
      </Typography>
      <TextField
        label="Model key"
        type={show ? 'text' : 'password'}
        value={key}
        onChange={(e) => useSourceStore.getState().update((s) => setKey(s, e.target.value))}
        onBlur={check}
        onKeyDown={(e) => {
          if (e.key === 'Enter') {
            e.preventDefault();
            check();
          }
        }}
        autoComplete="off"
        autoFocus
        size="small"
        sx={{ maxWidth: 520 }}
        error={keyCheck.status === 'error'}
        helperText={encrypted ? 'Press Enter or leave the field to check it' : 'Required to write the encrypted .etlt'}
        slotProps={{
          htmlInput: { 'data-testid': 'key-input', spellCheck: false, autoCapitalize: 'off' },
          input: {
            endAdornment: (
              <InputAdornment position="end">
                <IconButton aria-label={show ? 'Hide key' : 'Show key'} aria-pressed={show} onClick={() => setShow((v) => !v)} edge="end" data-testid="key-toggle">
                  {show ? <VisibilityOff /> : <Visibility />}
                </IconButton>
              </InputAdornment>
            ),
          },
        }}
      />
      {encrypted && <CheckStatus check={keyCheck} okText="Key checked" testId="key-status" />}
      {keyCheck.status === 'error' && <ErrorAlert error={keyCheck.error} title="Wrong key or corrupt model" />}
      {encrypted &&
        (info?.canStoreKeys ? (
          <FormControlLabel
            control={<Checkbox checked={rememberKey} onChange={(e) => useSourceStore.getState().patch({ rememberKey: e.target.checked })} slotProps={{ input: { 'aria-describedby': 'remember-key-help' } }} />}
            label="Remember this key in the system keyring"
            data-testid="remember-key"
          />
        ) : (
          info?.mode === 'electron' && (
            <Alert severity="info" id="remember-key-help">
              No secure keyring is available on this system, so the key is not stored: enter it again next time.
            </Alert>
          )
        ))}
      {encrypted && model && keyCheck.status === 'ok' && <ModelCard model={model} />}
    </Stack>
  );
}
