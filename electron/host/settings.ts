import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { RecentFile, Settings } from '../../shared/api.js';
import { StudioError } from '../../shared/errors.js';
import { TRT_VERSION_RE } from '../../shared/request.js';

/**
 * Settings and recent files, one JSON file in the config folder the front door chooses
 * (Electron: app.getPath('userData'); web mode: ~/.config/export-studio). Written atomically
 * (temp file + rename, mode 0600); validated on load, and a file that fails validation is set
 * aside as settings.json.invalid and replaced by defaults. Keys are never stored here: the
 * schema has no place for them and unknown fields are dropped on load and refused on update.
 */

export const SettingsSchema = z.object({
  theme: z.enum(['light', 'dark', 'system']).default('system'),
  lastOutputDir: z.string().min(1).optional(),
  lastGpu: z.union([z.number().int().nonnegative(), z.literal('cpu')]).optional(),
  rememberKeys: z.boolean().default(false),
  trtVersion: z.string().regex(TRT_VERSION_RE).optional(),
  dsCustomLib: z.string().min(1).optional(),
});

/** An update: any subset of the fields, nothing else. */
export const SettingsPatchSchema = z
  .object({
    theme: z.enum(['light', 'dark', 'system']),
    lastOutputDir: z.string().min(1),
    lastGpu: z.union([z.number().int().nonnegative(), z.literal('cpu')]),
    rememberKeys: z.boolean(),
    trtVersion: z.string().regex(TRT_VERSION_RE),
    dsCustomLib: z.string().min(1),
  })
  .partial()
  .strict();

export const RecentFileInputSchema = z.object({ path: z.string().min(1), kind: z.enum(['model', 'spec', 'images-dir']) }).strict();
const RecentFileSchema = RecentFileInputSchema.extend({ openedAt: z.string() });

const FileSchema = z.object({
  version: z.literal(1),
  settings: SettingsSchema,
  recent: z.array(RecentFileSchema).default([]),
});
type FileData = z.infer<typeof FileSchema>;

export const MAX_RECENT = 20;
export const SETTINGS_FILE = 'settings.json';

export class SettingsStore {
  private data: FileData | null = null;
  /** Writes are serialised so two quick updates cannot interleave. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly configDir: string) {}

  get file(): string {
    return path.join(this.configDir, SETTINGS_FILE);
  }

  async get(): Promise<Settings> {
    return { ...(await this.load()).settings };
  }

  async set(patch: Partial<Settings>): Promise<Settings> {
    const p = SettingsPatchSchema.safeParse(patch);
    if (!p.success) throw new StudioError('E_REQUEST_INVALID', `Invalid settings: ${p.error.issues.map((i) => `${i.path.join('.') || '(settings)'}: ${i.message}`).join('; ')}`, 'Only theme, lastOutputDir, lastGpu, rememberKeys, trtVersion and dsCustomLib can be set.');
    return this.update((d) => {
      d.settings = SettingsSchema.parse({ ...d.settings, ...p.data });
    }).then((d) => ({ ...d.settings }));
  }

  async recent(): Promise<RecentFile[]> {
    return (await this.load()).recent.map((r) => ({ ...r }));
  }

  async addRecent(file: Omit<RecentFile, 'openedAt'>, now: Date = new Date()): Promise<RecentFile[]> {
    const f = RecentFileInputSchema.parse(file);
    return this.update((d) => {
      const abs = path.resolve(f.path);
      d.recent = [{ path: abs, kind: f.kind, openedAt: now.toISOString() }, ...d.recent.filter((r) => !(r.path === abs && r.kind === f.kind))].slice(0, MAX_RECENT);
    }).then((d) => d.recent.map((r) => ({ ...r })));
  }

  private async load(): Promise<FileData> {
    if (this.data) return this.data;
    const fresh: FileData = { version: 1, settings: SettingsSchema.parse({}), recent: [] };
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch {
      this.data = fresh;
      return fresh;
    }
    let parsed: z.ZodSafeParseResult<FileData>;
    try {
      parsed = FileSchema.safeParse(JSON.parse(text));
    } catch {
      parsed = { success: false } as z.ZodSafeParseResult<FileData>;
    }
    if (parsed.success) {
      this.data = parsed.data;
    } else {
      await fs.rename(this.file, `${this.file}.invalid`).catch(() => undefined);
      this.data = fresh;
    }
    return this.data;
  }

  private update(change: (d: FileData) => void): Promise<FileData> {
    const next = this.chain.then(async () => {
      const d = await this.load();
      const copy: FileData = structuredClone(d);
      change(copy);
      await this.write(copy);
      this.data = copy;
      return copy;
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async write(d: FileData): Promise<void> {
    await fs.mkdir(this.configDir, { recursive: true, mode: 0o700 });
    const tmp = path.join(this.configDir, `.${SETTINGS_FILE}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
    try {
      await fs.writeFile(tmp, JSON.stringify(d, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
      await fs.rename(tmp, this.file);
    } catch (e) {
      await fs.rm(tmp, { force: true });
      throw new StudioError('E_OUTPUT_WRITE', `Cannot save settings to ${this.file}: ${(e as Error).message}`, 'Check that the config folder is writable.', { file: this.file }, { cause: e });
    }
  }
}
