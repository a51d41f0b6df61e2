/** Security: principals and their NATS credentials and permissions, the ACL policy, authorize(), rate limits. */
export * from './authorize.js';
export * from './cluster-credentials.js';
export * from './credentials.js';
export * from './defaults.js';
export * from './directory.js';
export * from './nats-auth.js';
export * from './permissions.js';
export * from './policy.js';
export * from './principal.js';
export * from './rate-limiter.js';
