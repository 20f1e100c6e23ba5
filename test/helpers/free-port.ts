// One loopback port finder for bench/ and the tests.
export { freePort } from '../../bench/free-port.js';
