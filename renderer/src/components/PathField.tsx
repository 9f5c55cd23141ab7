import { useRef, useState, type ReactNode } from 'react';
import { Button, Stack, TextField } from '@mui/material';
import FolderOpenIcon from '@mui/icons-material/FolderOpen';
import type { FileKind } from '../../../shared/api.js';
import { useClient } from '../app/client-context.js';
import { FileBrowserDialog } from './FileBrowserDialog.js';
import { dirname } from '../store/paths.js';

interface Props {
  label: string;
  value: string;
  kind: FileKind;
  onChange(v: string): void;
  /** Called on Enter, on blur after an edit, and after Browse picks a path. */
  onCommit?(v: string): void;
  testId: string;
  helperText?: ReactNode;
  error?: boolean;
  placeholder?: string;
  /** Folder Browse starts in when the field is empty. */
  startDir?: string | null;
  autoFocus?: boolean;
  /** Turn what Browse picked into the field's value (e.g. a folder → a file inside it). */
  fromPicked?(picked: string): string;
}

/** A path text field with Browse: native dialog in the app, the server's file browser on the web. */
export function PathField({ label, value, kind, onChange, onCommit, testId, helperText, error, placeholder, startDir = null, autoFocus, fromPicked }: Props) {
  const client = useClient();
  const [browsing, setBrowsing] = useState(false);
  const committed = useRef(value);

  const commit = (v: string) => {
    committed.current = v;
    onCommit?.(v);
  };
  const picked = (raw: string) => {
    const p = fromPicked ? fromPicked(raw) : raw;
    onChange(p);
    commit(p);
  };
  const initialDir = value.trim() ? (kind === 'images-dir' || (kind === 'output-dir' && !fromPicked) ? value.trim() : dirname(value.trim())) : startDir;

  const browse = async () => {
    if (client.mode === 'electron') {
      const r = await client.api.pickPath(kind, initialDir ? { defaultPath: initialDir } : undefined);
      if (r.ok && r.value) picked(r.value);
      return;
    }
    setBrowsing(true);
  };

  return (
    <Stack direction="row" spacing={1} sx={{ alignItems: 'flex-start' }}>
      <TextField
        label={label}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        onBlur={() => value !== committed.current && commit(value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter') {
            e.preventDefault();
            commit(value);
          }
        }}
        fullWidth
        size="small"
        error={error ?? false}
        helperText={helperText}
        placeholder={placeholder}
        autoFocus={autoFocus ?? false}
        slotProps={{ htmlInput: { 'data-testid': testId, spellCheck: false } }}
      />
      <Button variant="outlined" startIcon={<FolderOpenIcon />} onClick={() => void browse()} sx={{ flexShrink: 0, height: 40 }} aria-label={`Browse for ${label}`} data-testid={`${testId}-browse`}>
        Browse
      </Button>
      {browsing && (
        <FileBrowserDialog
          open={browsing}
          kind={kind}
          startDir={initialDir}
          onClose={() => setBrowsing(false)}
          onPick={(p) => {
            setBrowsing(false);
            picked(p);
          }}
        />
      )}
    </Stack>
  );
}
