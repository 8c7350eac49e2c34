export { main, EXIT, decodeTask, decodeParam, encodeResult, encodeValue, TaskLineError } from '../dist/index.js';
