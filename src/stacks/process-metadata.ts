/** What is known about the process a sample came from. */
export interface ProcessMetadata {
  readonly pid: number;
  /** comm of the main thread. */
  readonly name: string;
  readonly executablePath?: string | undefined;
  readonly commandLine?: string | undefined;
  /** OpenTelemetry resource attributes (container.id, k8s.pod.name, service.name, ...). */
  readonly attributes: Readonly<Record<string, string>>;
}
