/** The SkyWalking OAP transport: what the controller uses. */
export { createSkyWalkingExporter, defaultHostIp } from './skywalking-exporter.js';
export type { ProfilingTaskScheduler, SkyWalkingExporter, SkyWalkingExporterOptions, TaskSchedulerParts } from './skywalking-exporter.js';
export type { TaskProfilingData } from './profiling-data-exporter.js';
export type { ProfilingTask } from './task-command.js';
export type { ProcessSource, ReportedProcess } from './process-reporter.js';
export { createProcfsProcessSource } from './procfs-process-source.js';
export { defaultEntityRules, resolveProcessEntity } from './process-entity.js';
export type { EntityRules, ProcessEntity } from './process-entity.js';
export type { HttpExchangeSource, WatchedExchange } from './continuous-profiler.js';
