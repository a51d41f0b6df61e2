/** The bus: NATS connections, the msgpack codec, validated publish/request/serve, logging. */
export * from './bus.js';
export * from './codec.js';
export * from './connection.js';
export * from './errors.js';
export * from './lease.js';
export * from './lease-epoch.js';
export * from './log.js';
export * from './nats-server.js';
export * from './request-mux.js';
export * from './worker-intake.js';
