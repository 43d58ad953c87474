export * from './producer.js';
export * from './options.js';
export * from './send-result.js';
export * from './fault.js';
export * from './in-flight.js';
export * from './accumulator.js';
