import { useEffect, useMemo, useState } from 'react';
import { Alert, AlertTitle, Box, Button, CircularProgress, Stack, Table, TableBody, TableCell, TableRow, Typography } from '@mui/material';
import PlayArrowIcon from '@mui/icons-material/PlayArrow';
import ArrowBackIcon from '@mui/icons-material/ArrowBack';
import type { Preflight } from '../../../../shared/api.js';
import type { ExportRequestInput } from '../../../../shared/request.js';
import type { StudioErrorData } from '../../../../shared/errors.js';
import { formatBytes } from '../../../../shared/format.js';
import { KEY_MASK, redact } from '../../../../shared/redact.js';
import { useClient, useInfo } from '../../app/client-context.js';
import { MONO } from '../../app/theme.js';
import { CopyButton } from '../../components/CopyButton.js';
import { ErrorAlert } from '../../components/ErrorAlert.js';
import { useOptionsStore } from '../../store/options.js';
import { useSourceStore } from '../../store/source.js';
import { useImagesStore } from '../../store/images.js';
import { useWizardStore } from '../../store/wizard.js';
import { buildRequest } from '../../store/request.js';
import { blocking, clientProblems, fromPreflight, type ReviewFix, type ReviewProblem } from '../../store/review.js';
import { dirname } from '../../store/paths.js';
import { startExport } from '../actions.js';
import { useFidelityOption } from '../FidelityPanel.js';
import { StickyFooter } from '../StickyFooter.js';

function calibrationText(r: ExportRequestInput): string {
  const c = r.calibration;
  if (!c) return '—';
  const src =
    c.source === 'image-dir'
      ? `all images in ${c.imageDir}`
      : c.source === 'images'
        ? `${c.images?.length ?? 0} selected images`
        : c.source === 'tensorfile'
          ? `tensorfile ${c.tensorfile}${c.writeTensorfile ? ' (create)' : ''}`
          : c.source === 'cache'
            ? `existing cache ${r.outputs.cache ?? ''}`
            : "the spec's data loader";
  if (c.source === 'cache') return src;
  return `${src}; ${c.batches} × ${c.batchSize}, seed ${c.seed}, ${c.algorithm}${c.algorithm === 'percentile' ? ` ${c.percentile}` : ''}, ${c.resize}${c.acceptFewer ? ', fewer samples accepted' : ''}`;
}

function preprocessingText(r: ExportRequestInput): string {
  if (r.spec) return r.spec;
  const p = r.preprocessing;
  const parts = [`none — preset ${p?.preset ?? 'tao-maskrcnn'}`];
  if (p?.size) parts.push(`input ${p.size[0]} × ${p.size[1]}`);
  if (p?.mean) parts.push(`mean ${p.mean.join(', ')}`);
  if (p?.scale) parts.push(`scale ${p.scale.join(', ')}`);
  if (p?.order) parts.push(p.order.toUpperCase());
  if (p?.layout) parts.push(p.layout.toUpperCase());
  return parts.join('; ');
}

const ROLE_LABELS: Record<string, string> = {
  etlt: 'Encrypted model',
  onnx: 'Plain ONNX (unencrypted: DeepStream reads this one)',
  qdq: 'Q/DQ ONNX',
  cache: 'Calibration cache',
  provenance: 'Cache provenance',
  calibrationReport: 'Calibration report',
  tensorfile: 'Tensorfile',
  dsConfig: 'DeepStream config',
  labels: 'DeepStream labels',
  report: 'Job report',
  engine: 'TensorRT engine',
};

function useFixer(refresh: () => void, accept: (key: string) => void) {
  const client = useClient();
  const [error, setError] = useState<StudioErrorData | null>(null);
  const run = async (p: ReviewProblem, fix: ReviewFix) => {
    setError(null);
    switch (fix.kind) {
      case 'mkdir': {
        const r = await client.api.makeDir(fix.dir);
        if (!r.ok) setError(r.error);
        refresh();
        break;
      }
      case 'overwrite':
        useOptionsStore.getState().setOutputs({ overwrite: true });
        break;
      case 'deselect-images': {
        const want = new Set(fix.paths);
        const ids = useImagesStore.getState().images.filter((i) => want.has(i.path)).map((i) => i.id);
        useImagesStore.getState().markUnreadable(ids);
        break;
      }
      case 'accept':
        accept(p.key);
        break;
      case 'accept-fewer':
        useOptionsStore.getState().setCalibration({ acceptFewer: true });
        break;
      case 'goto':
        useWizardStore.getState().goto(fix.step);
        break;
    }
  };
  return { run, error };
}

function ProblemList({ problems, accepted, onFix, onAccept }: { problems: ReviewProblem[]; accepted: ReadonlySet<string>; onFix(p: ReviewProblem, f: ReviewFix): void; onAccept(key: string): void }) {
  if (problems.length === 0) return null;
  return (
    <Stack spacing={1} data-testid="review-problems" component="section" aria-label="Problems to resolve before Start">
      {problems.map((p) => {
        const ok = p.severity === 'warning' && accepted.has(p.key);
        return (
          <Alert
            key={p.key}
            severity={ok ? 'success' : p.severity}
            data-testid={`problem-${p.id}`}
            data-resolved={ok || undefined}
            sx={{ '& .MuiAlert-message': { width: '100%', minWidth: 0 } }}
            action={
              <Stack direction="row" spacing={1} sx={{ alignItems: 'center' }}>
                {p.fix && p.fix.kind !== 'accept' && !ok && (
                  <Button color="inherit" variant="outlined" size="small" onClick={() => onFix(p, p.fix as ReviewFix)} data-testid={`fix-${p.id}`}>
                    {p.fixLabel ?? 'Fix'}
                  </Button>
                )}
                {p.severity === 'warning' && !ok && (
                  <Button color="inherit" size="small" onClick={() => onAccept(p.key)} data-testid={`accept-${p.id}`}>
                    {p.fix?.kind === 'accept' ? (p.fixLabel ?? 'Accept') : 'Accept'}
                  </Button>
                )}
              </Stack>
            }
          >
            <AlertTitle sx={{ mb: p.files.length ? 0.5 : 0 }}>{ok ? `Accepted: ${p.message}` : p.message}</AlertTitle>
            {p.files.slice(0, 6).map((f) => (
              <Typography key={f} variant="body2" sx={{ fontFamily: MONO, overflowWrap: 'anywhere' }}>
                {f}
              </Typography>
            ))}
            {p.files.length > 6 && <Typography variant="body2">… and {p.files.length - 6} more</Typography>}
          </Alert>
        );
      })}
    </Stack>
  );
}

export function ReviewStep() {
  const client = useClient();
  const info = useInfo();
  const source = useSourceStore();
  const options = useOptionsStore();
  const images = useImagesStore();
  const fidelity = useFidelityOption((s) => s.enabled);
  const request = useMemo(() => buildRequest(source, options, images, { enabled: fidelity }), [source, options, images, fidelity]);
  const requestKey = JSON.stringify(request);
  const [command, setCommand] = useState<string | null>(null);
  const [cmdError, setCmdError] = useState<StudioErrorData | null>(null);
  const [preflight, setPreflight] = useState<{ key: string; value: Preflight } | null>(null);
  const [preflightError, setPreflightError] = useState<StudioErrorData | null>(null);
  const [nonce, setNonce] = useState(0);
  const [accepted, setAccepted] = useState<ReadonlySet<string>>(new Set());
  const accept = (key: string) => setAccepted((a) => new Set([...a, key]));
  const fixer = useFixer(() => setNonce((n) => n + 1), accept);
  const precision = options.precision;

  const local = clientProblems(source, options, images);
  const schemaOk = !local.some((p) => p.id === 'invalid');

  useEffect(() => {
    let live = true;
    void client.api.commandFor(request).then((r) => {
      if (!live) return;
      if (r.ok) {
        // The host leaves the key out already; redacting again here costs nothing.
        setCommand(redact(r.value, [request.key]));
        setCmdError(null);
      } else setCmdError(r.error);
    });
    return () => {
      live = false;
    };
  }, [client, requestKey]);

  // The host's checks (outputs, folders, images), again after every change and every fix.
  useEffect(() => {
    if (!schemaOk) return;
    let live = true;
    const t = setTimeout(() => {
      void client.api.preflight(request).then((r) => {
        if (!live) return;
        if (r.ok) {
          setPreflight({ key: `${requestKey}#${nonce}`, value: r.value });
          setPreflightError(null);
        } else setPreflightError(r.error);
      });
    }, 200);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [client, requestKey, nonce, schemaOk]);

  const current = preflight !== null && preflight.key === `${requestKey}#${nonce}`;
  const problems = [...local, ...(preflight ? preflight.value.problems.map(fromPreflight) : [])];
  const blockers = blocking(problems, accepted);
  const checking = schemaOk && !current && preflightError === null;

  const modelBytes = source.model?.bytes;
  const outputs = (preflight?.value.outputs ?? []).map((o) => {
    let label = ROLE_LABELS[o.role] ?? o.role;
    if (o.role === 'onnx' && modelBytes) label += `, about ${formatBytes(modelBytes)}`;
    return { label, path: o.path };
  });
  const outDir = dirname(preflight?.value.outputs.find((o) => o.role === 'etlt')?.path ?? request.outputs.etlt);

  const rows: [string, React.ReactNode][] = [
    ['Model', request.model],
    ['Key', request.key ? KEY_MASK : '(none)'],
    ['Spec', preprocessingText(request)],
    ['Precision', (request.precision ?? 'fp32').toUpperCase()],
    ['Calibration', calibrationText(request)],
    [
      'Outputs',
      outputs.length > 0 ? (
        <Box component="ul" sx={{ m: 0, pl: 2 }} data-testid="review-outputs">
          {outputs.map((o) => (
            <li key={o.path}>
              <span style={{ fontFamily: MONO, overflowWrap: 'anywhere' }}>{o.path}</span>{' '}
              <Typography component="span" variant="body2" color="text.secondary">
                — {o.label}
              </Typography>
            </li>
          ))}
        </Box>
      ) : (
        <span style={{ fontFamily: MONO }}>{request.outputs.etlt}</span>
      ),
    ],
    ['Device', request.gpu === 'cpu' ? 'CPU' : `GPU ${request.gpu ?? 0}`],
    ['Existing files', request.overwrite ? 'overwrite' : 'keep (stop if present)'],
  ];

  return (
    <Stack spacing={2}>
      <Table size="small" aria-label="Export summary" data-testid="review-summary">
        <TableBody>
          {rows.map(([k, v]) => (
            <TableRow key={k}>
              <TableCell component="th" scope="row" sx={{ width: 140, color: 'text.secondary', verticalAlign: 'top' }}>
                {k}
              </TableCell>
              <TableCell sx={{ fontFamily: k === 'Model' ? MONO : undefined, overflowWrap: 'anywhere' }}>{v}</TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
      {request.outputs.dsConfig && (
        <Typography variant="body2" color="text.secondary">
          The DeepStream files go into the output folder <span style={{ fontFamily: MONO }}>{outDir}</span>, next to the .etlt, and point at the plain ONNX: DeepStream cannot decrypt the .etlt.
        </Typography>
      )}
      {preflightError && <ErrorAlert error={preflightError} title="Could not check the outputs" />}
      {fixer.error && <ErrorAlert error={fixer.error} />}
      <ProblemList problems={problems} accepted={accepted} onFix={(p, f) => void fixer.run(p, f)} onAccept={accept} />
      <Typography variant="subtitle1" component="h3">
        Equivalent command
      </Typography>
      {cmdError ? (
        <ErrorAlert error={cmdError} />
      ) : (
        <>
          <Box sx={{ position: 'relative' }}>
            <Box
              component="pre"
              data-testid="review-command"
              aria-label="Equivalent CLI command"
              sx={{ fontFamily: MONO, fontSize: 13, p: 1.5, pr: 6, m: 0, borderRadius: 1, bgcolor: 'action.hover', whiteSpace: 'pre-wrap', overflowWrap: 'anywhere', minHeight: 40 }}
            >
              {command ?? '…'}
            </Box>
            <Box sx={{ position: 'absolute', top: 4, right: 4 }}>
              <CopyButton icon text={command ?? ''} label="Copy command" testId="review-copy" />
            </Box>
          </Box>
          <Typography variant="body2" color="text.secondary" data-testid="review-command-key">
            The key is not in the command: it reads the environment variable <code style={{ fontFamily: MONO }}>EXPORT_STUDIO_KEY</code>. Set it first without echoing the key, e.g.{' '}
            <code style={{ fontFamily: MONO }}>read -rs EXPORT_STUDIO_KEY &amp;&amp; export EXPORT_STUDIO_KEY</code>, then paste the command.
          </Typography>
        </>
      )}
      <StickyFooter>
        <Button startIcon={<ArrowBackIcon />} onClick={() => useWizardStore.getState().back(precision)} data-testid="wizard-back">
          Back
        </Button>
        <Box sx={{ flex: 1 }} />
        {checking && <CircularProgress size={18} aria-label="Checking outputs" />}
        {blockers.length > 0 && (
          <Typography variant="body2" color="text.secondary" role="status" data-testid="review-blockers">
            {blockers.length === 1 ? '1 problem to resolve' : `${blockers.length} problems to resolve`} before Start
          </Typography>
        )}
        <Button
          variant="contained"
          size="large"
          startIcon={<PlayArrowIcon />}
          disabled={blockers.length > 0 || checking || preflightError !== null}
          onClick={() => void startExport(client, { canStoreKeys: info?.canStoreKeys ?? false })}
          data-testid="start-export"
        >
          Start export
        </Button>
      </StickyFooter>
    </Stack>
  );
}
