import { z } from 'zod';
import type { StudioApi } from '../../shared/api.js';
import { StudioError } from '../../shared/errors.js';
import { ExportRequestSchema, PreprocessingSchema, ResizeModeSchema } from '../../shared/request.js';
import type { WebMethod } from '../../shared/web-protocol.js';
import { RecentFileInputSchema, SettingsPatchSchema } from './settings.js';

/**
 * Argument schemas of every StudioApi method that crosses a process boundary (Electron IPC and
 * web mode's POST /api/<method> both carry `args: unknown[]`). A tuple per method: missing,
 * extra or mistyped arguments are E_REQUEST_INVALID before any work starts.
 */
const FileKindSchema = z.enum(['model', 'spec', 'tensorfile', 'cache', 'images-dir', 'output-dir', 'any']);
const PathSchema = z.string().min(1).max(4096);
const IdSchema = z.string().min(1).max(200);

export const API_ARGS = {
  info: z.tuple([]),
  gpus: z.tuple([]),
  pickPath: z.tuple([FileKindSchema, z.object({ defaultPath: PathSchema.optional() }).strict().optional()]),
  browse: z.tuple([PathSchema.nullable(), FileKindSchema]),
  inspectModel: z.tuple([PathSchema, z.string().max(4096)]),
  parseSpec: z.tuple([PathSchema]),
  listImages: z.tuple([PathSchema]),
  previewTensor: z.tuple([IdSchema, PathSchema.nullable(), PreprocessingSchema.nullable(), ResizeModeSchema]),
  commandFor: z.tuple([ExportRequestSchema]),
  planOutputs: z.tuple([ExportRequestSchema]),
  startExport: z.tuple([ExportRequestSchema]),
  cancelJob: z.tuple([IdSchema]),
  listJobs: z.tuple([]),
  clearJobs: z.tuple([z.array(IdSchema).max(10_000).nullable()]),
  getSettings: z.tuple([]),
  setSettings: z.tuple([SettingsPatchSchema]),
  recentFiles: z.tuple([]),
  addRecentFile: z.tuple([RecentFileInputSchema]),
  storeKey: z.tuple([PathSchema, z.string().min(1).max(4096)]),
  loadKey: z.tuple([PathSchema]),
  openFolder: z.tuple([PathSchema]),
  preflight: z.tuple([ExportRequestSchema]),
  makeDir: z.tuple([PathSchema]),
} as const satisfies Record<WebMethod, z.ZodType<unknown[]>>;

export type ApiArgs<M extends WebMethod> = z.output<(typeof API_ARGS)[M]>;

/** Validate the arguments of one call; throws E_REQUEST_INVALID naming the bad argument. */
export function parseArgs<M extends WebMethod>(method: M, args: unknown): ApiArgs<M> {
  const schema = API_ARGS[method] as unknown as z.ZodType<ApiArgs<M>> | undefined;
  if (!schema) throw new StudioError('E_REQUEST_INVALID', `Unknown API method: ${String(method)}`, 'The app and server versions may differ; reload the page.');
  const r = schema.safeParse(args);
  if (r.success) return r.data;
  const issues = r.error.issues.slice(0, 8).map((i) => `${i.path.length ? `argument ${i.path.join('.')}` : 'arguments'}: ${i.message}`);
  throw new StudioError('E_REQUEST_INVALID', `Invalid call to ${method}: ${issues.join('; ')}`, 'The app sent a request this version does not accept; reload the page or restart the app.', {}, { details: { method } });
}

/** Methods the transport must not offer (client-side only). */
export type ClientSideMethod = Exclude<keyof StudioApi, WebMethod>;
