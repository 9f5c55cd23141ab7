export {
  type ProviderChoice,
  type GraphOptimization,
  type LogFn,
  type CreateSessionOptions,
  type StudioSession,
  createSession,
  describeProvider,
  runtimeError,
} from './session.js';
export { cudaProviderInstalled, cudaProviderLibrary } from './cuda.js';
