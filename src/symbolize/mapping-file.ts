/**
 * Readable paths for a mapping's file; the logic lives in the process stage
 * (src/process/mapping-file.ts) so unwinding can use it too.
 */
export { mappingFileCandidates, resolveMappingFile } from '../process/mapping-file.js';
