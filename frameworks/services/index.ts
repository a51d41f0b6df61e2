/** The services framework: long-running services kept healthy, scaled and rolled out (Marathon's job). */
export * from './plan.js';
export * from './service-state.js';
export { type ServicesFramework, startServicesFramework } from './services-framework.js';
export * from './transitions.js';
