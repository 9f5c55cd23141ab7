/**
 * Path helpers for paths of the machine running the pipeline (POSIX or Windows), pure. They live
 * in shared/defaults.ts with the default output paths, so the app computes its defaults with the
 * same code as the CLI, the worker and web mode.
 */
export { basename, dirname, join, sibling, stem, defaultEtltPath } from '../../../shared/defaults.js';
