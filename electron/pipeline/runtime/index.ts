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
