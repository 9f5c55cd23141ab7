import { useEffect, useState } from 'react';
import { List, ListItemButton, ListItemIcon, ListItemText, ListSubheader, Paper } from '@mui/material';
import HistoryIcon from '@mui/icons-material/History';
import type { RecentFile } from '../../../shared/api.js';
import { useApi } from '../app/client-context.js';
import { basename, dirname } from '../store/paths.js';

interface Props {
  kind: RecentFile['kind'];
  title: string;
  current: string;
  onOpen(path: string): void;
  /** Re-read the list when this changes (e.g. after a successful open). */
  refresh?: unknown;
  max?: number;
}

/** Recently opened files of one kind (host-side list: settings, not the browser). */
export function RecentList({ kind, title, current, onOpen, refresh, max = 5 }: Props) {
  const api = useApi();
  const [recent, setRecent] = useState<RecentFile[]>([]);
  useEffect(() => {
    let live = true;
    void api.recentFiles().then((r) => live && r.ok && setRecent(r.value.filter((f) => f.kind === kind).slice(0, max)));
    return () => {
      live = false;
    };
  }, [api, kind, max, refresh]);
  if (recent.length === 0) return null;
  const id = `recent-${kind}`;
  return (
    <Paper>
      <List dense aria-labelledby={id} subheader={<ListSubheader id={id}>{title}</ListSubheader>} data-testid={id}>
        {recent.map((f) => (
          <ListItemButton key={f.path} onClick={() => onOpen(f.path)} selected={f.path === current} aria-label={`Open recent ${basename(f.path)}`}>
            <ListItemIcon>
              <HistoryIcon />
            </ListItemIcon>
            <ListItemText primary={basename(f.path)} secondary={`${dirname(f.path)} · ${new Date(f.openedAt).toLocaleString()}`} />
          </ListItemButton>
        ))}
      </List>
    </Paper>
  );
}
