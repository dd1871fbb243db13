export * from './audit-logger.js';
export * from './audit-actions.js';
