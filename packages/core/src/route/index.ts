export * from './topic-route.js';
export * from './manager.js';
