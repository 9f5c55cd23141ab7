// Types of layers.js for the rule's own test (eslint-rules/layers.test.ts).
import type { ESLint } from 'eslint';

export interface Layer {
  dirs?: string[];
  files?: string[];
  tests?: boolean;
  may: string[];
  node: boolean;
  packages: string[];
  typePackages?: string[];
}
export declare const LAYERS: Record<string, Layer>;
export declare const ALLOWED: Record<string, string[]>;
export declare function layerOf(file: string): string | null;
declare const plugin: ESLint.Plugin;
export default plugin;
