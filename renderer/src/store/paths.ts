/**
 * Path helpers for paths of the machine running the pipeline (POSIX or Windows), pure. The default
 * output paths come from shared/defaults.ts — the one module the CLI, the worker, web mode and the
 * wizard share — so the wizard pre-fills what the pipeline plans.
 */
export { basename, defaultEtltPath, dirname, join, sibling, stem } from '../../../shared/defaults.js';
