export * from './version.js';
export * from './errors.js';
export * from './frames.js';
export * from './codec.js';
export * from './wire-path.js';
export * from './byte-names.js';
export * from './name-order.js';
export * from './payload-compression.js';
