// The path checks live with the host so web mode applies the same ones (electron/host/paths.ts).
export { checkLocalPath, PATH_CHECKS, type PathExpectation } from '../host/paths.js';
