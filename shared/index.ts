export * from './errors.js';
export * from './events.js';
export * from './format.js';
export * from './redact.js';
export * from './report.js';
export * from './request.js';
export * from './api.js';
export * from './web-protocol.js';
