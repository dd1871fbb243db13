/** What the control plane may read about the running node (status, readiness). */
export interface ServerRuntime {
  readonly version: string;
  readonly nodeId: string;
  readonly engine: string;
  readonly startedAt: number;
  connectionCount(): number;
  channelCount(): number;
  /** False while starting or shutting down: readiness answers 503. */
  isReady(): boolean;
}
