/** The SkyWalking OAP transport: what the controller uses. */
export { createSkyWalkingExporter, defaultHostIp } from './skywalking-exporter.js';
export type { SkyWalkingExporter, SkyWalkingExporterOptions } from './skywalking-exporter.js';
export type { SamplerFactory, Symbolizer } from '../../agent/skywalking-tasks.js';
export type { ProcessSource, ReportedProcess } from './process-reporter.js';
export { createProcfsProcessSource } from './procfs-process-source.js';
export { defaultEntityRules, resolveProcessEntity } from './process-entity.js';
export type { EntityRules, ProcessEntity } from './process-entity.js';
export type { SkyWalkingLogger } from './logger.js';
