import { useEffect, useState } from 'react';
import {
  Box,
  Breadcrumbs,
  Button,
  Dialog,
  DialogActions,
  DialogContent,
  DialogTitle,
  LinearProgress,
  Link,
  List,
  ListItemButton,
  ListItemIcon,
  ListItemText,
  Stack,
  TextField,
  Typography,
} from '@mui/material';
import CreateNewFolderIcon from '@mui/icons-material/CreateNewFolder';
import FolderIcon from '@mui/icons-material/Folder';
import InsertDriveFileIcon from '@mui/icons-material/InsertDriveFile';
import ArrowUpwardIcon from '@mui/icons-material/ArrowUpward';
import type { DirListing, FileKind } from '../../../shared/api.js';
import type { StudioErrorData } from '../../../shared/errors.js';
import { formatBytes } from '../../../shared/format.js';
import { useApi } from '../app/client-context.js';
import { ErrorAlert } from './ErrorAlert.js';
import { KIND_LABEL, matchesKind, picksDirectory } from './file-kinds.js';
import { join } from '../store/paths.js';

interface Props {
  open: boolean;
  kind: FileKind;
  /** Folder to start in (null = the server's default, usually home). */
  startDir: string | null;
  onPick(path: string): void;
  onClose(): void;
}

function crumbs(path: string): { name: string; path: string }[] {
  const win = /^[A-Za-z]:\\/.test(path);
  const sep = win ? '\\' : '/';
  const parts = path.split(sep).filter(Boolean);
  const out: { name: string; path: string }[] = win ? [] : [{ name: 'Root', path: '/' }];
  let acc = '';
  for (const p of parts) {
    acc = acc === '' && win ? p + sep : acc.endsWith(sep) ? acc + p : `${acc}${sep}${p}`;
    out.push({ name: p, path: acc });
  }
  return out;
}

/** Web mode's file picker: lists the server's files through `browse` (allow-listed there). */
export function FileBrowserDialog({ open, kind, startDir, onPick, onClose }: Props) {
  const api = useApi();
  const [listing, setListing] = useState<DirListing | null>(null);
  const [error, setError] = useState<StudioErrorData | null>(null);
  const [loading, setLoading] = useState(false);
  /** The path box: type or paste a folder (or a file to pick it), Enter goes there. */
  const [typed, setTyped] = useState('');
  const [newName, setNewName] = useState<string | null>(null);

  const load = async (dir: string | null) => {
    setLoading(true);
    const r = await api.browse(dir, kind);
    setLoading(false);
    if (r.ok) {
      setListing(r.value);
      setTyped(r.value.path);
      setError(null);
    } else if (dir !== null && listing === null) {
      // The field's folder does not exist (yet): open the nearest folder above it that does.
      const up = dir.replace(/[\\/]+[^\\/]*[\\/]*$/, '');
      void load(up && up !== dir && r.error.code === 'E_FILE_NOT_FOUND' ? up : null);
    } else setError(r.error);
  };

  useEffect(() => {
    if (open) void load(startDir);
  }, [open]);

  const dirMode = picksDirectory(kind);
  const goTyped = async () => {
    const p = typed.trim();
    if (!p) return;
    // A file of the right kind is picked; anything else is opened as a folder.
    if (!dirMode && matchesKind(p, kind)) {
      const parent = p.replace(/[\\/][^\\/]*$/, '') || '/';
      const r = await api.browse(parent, kind);
      if (r.ok && r.value.entries.some((e) => e.kind === 'file' && e.path === p)) return onPick(p);
    }
    void load(p);
  };
  const makeFolder = async () => {
    const name = (newName ?? '').trim();
    if (!listing || !name) return;
    const r = await api.makeDir(join(listing.path, name));
    if (r.ok) {
      setNewName(null);
      void load(r.value);
    } else setError(r.error);
  };
  const entries = (listing?.entries ?? []).filter((e) => e.kind === 'dir' || matchesKind(e.name, kind));
  entries.sort((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === 'dir' ? -1 : 1));

  return (
    <Dialog open={open} onClose={onClose} fullWidth maxWidth="sm" aria-labelledby="file-browser-title" data-testid="file-browser">
      <DialogTitle id="file-browser-title">Choose {KIND_LABEL[kind]}</DialogTitle>
      <DialogContent dividers sx={{ p: 0, minHeight: 360 }}>
        {loading && <LinearProgress aria-label="Loading folder" />}
        <Stack direction="row" spacing={1} sx={{ px: 2, pt: 1.5, alignItems: 'center' }}>
          <TextField
            label="Path on the server"
            size="small"
            fullWidth
            value={typed}
            onChange={(e) => setTyped(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter') {
                e.preventDefault();
                void goTyped();
              }
            }}
            slotProps={{ htmlInput: { 'data-testid': 'file-browser-path-input', spellCheck: false } }}
          />
          <Button size="small" startIcon={<CreateNewFolderIcon />} onClick={() => setNewName('')} disabled={!listing} data-testid="file-browser-new-folder" sx={{ whiteSpace: 'nowrap', flexShrink: 0 }}>
            New folder
          </Button>
        </Stack>
        {newName !== null && (
          <Stack direction="row" spacing={1} sx={{ px: 2, pt: 1, alignItems: 'center' }}>
            <TextField
              label="New folder name"
              size="small"
              autoFocus
              fullWidth
              value={newName}
              onChange={(e) => setNewName(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === 'Enter') {
                  e.preventDefault();
                  void makeFolder();
                } else if (e.key === 'Escape') {
                  e.stopPropagation();
                  setNewName(null);
                }
              }}
              slotProps={{ htmlInput: { 'data-testid': 'file-browser-new-folder-name' } }}
            />
            <Button size="small" variant="contained" onClick={() => void makeFolder()} disabled={!newName.trim() || /[\\/]/.test(newName)} data-testid="file-browser-create">
              Create
            </Button>
          </Stack>
        )}
        {listing && (
          <Box sx={{ px: 2, py: 1, borderBottom: 1, borderColor: 'divider' }}>
            <Breadcrumbs aria-label="Current folder" maxItems={6}>
              {crumbs(listing.path).map((c, i, all) =>
                i === all.length - 1 ? (
                  <Typography key={c.path} color="text.primary" variant="body2" data-testid="file-browser-path">
                    {c.name}
                  </Typography>
                ) : (
                  <Link key={c.path} component="button" variant="body2" onClick={() => void load(c.path)} underline="hover">
                    {c.name}
                  </Link>
                ),
              )}
            </Breadcrumbs>
          </Box>
        )}
        {error && (
          <Box sx={{ p: 2 }}>
            <ErrorAlert error={error} actions={false} />
          </Box>
        )}
        <List dense aria-label="Folder contents" sx={{ maxHeight: 420, overflow: 'auto' }}>
          {listing?.parent != null && (
            <ListItemButton onClick={() => void load(listing.parent)} data-testid="file-browser-up">
              <ListItemIcon>
                <ArrowUpwardIcon />
              </ListItemIcon>
              <ListItemText primary="Parent folder" />
            </ListItemButton>
          )}
          {entries.map((e) => (
            <ListItemButton
              key={e.path}
              onClick={() => (e.kind === 'dir' ? void load(e.path) : onPick(e.path))}
              data-testid={`file-entry-${e.name}`}
              aria-label={e.kind === 'dir' ? `Open folder ${e.name}` : `Choose ${e.name}`}
              disabled={dirMode && e.kind === 'file'}
            >
              <ListItemIcon>{e.kind === 'dir' ? <FolderIcon color="primary" /> : <InsertDriveFileIcon />}</ListItemIcon>
              <ListItemText primary={e.name} secondary={e.kind === 'file' && e.bytes !== undefined ? formatBytes(e.bytes) : undefined} />
            </ListItemButton>
          ))}
          {listing && entries.length === 0 && (
            <Typography sx={{ p: 2 }} color="text.secondary">
              Nothing here matches a {KIND_LABEL[kind]}.
            </Typography>
          )}
        </List>
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Cancel</Button>
        {dirMode && (
          <Button variant="contained" disabled={!listing} onClick={() => listing && onPick(listing.path)} data-testid="file-browser-choose-folder">
            Use this folder
          </Button>
        )}
      </DialogActions>
    </Dialog>
  );
}
