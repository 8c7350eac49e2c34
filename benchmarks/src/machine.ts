import * as os from 'node:os';

export interface MachineInfo {
  cpuModel: string;
  /** Logical CPUs (os.cpus().length). */
  cores: number;
  /** os.availableParallelism(): what the process may use. */
  availableParallelism: number;
  memoryBytes: number;
  platform: string;
  arch: string;
  osRelease: string;
  node: string;
  v8: string;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    availableParallelism: os.availableParallelism(),
    memoryBytes: os.totalmem(),
    platform: process.platform,
    arch: process.arch,
    osRelease: os.release(),
    node: process.version,
    v8: process.versions.v8,
  };
}
