/** The tool's name and version, written into reports, provenance and .etlt-side files. */
export const TOOL = { name: 'export-studio', version: '0.1.0' } as const;
