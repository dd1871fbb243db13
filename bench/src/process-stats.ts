import { readFileSync } from 'node:fs';

/** Clock ticks per second for /proc/<pid>/stat times (USER_HZ; 100 on every mainstream Linux). */
const CLOCK_TICKS = 100;

/** Resident set size of a process in bytes, from `VmRSS` in /proc/<pid>/status. */
export function readRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

/** User + system CPU time a process has used so far, in milliseconds. */
export function readCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces; fields after it start past the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / CLOCK_TICKS;
}

/** Measures how busy a process was between `start()` and `stop()`: 100 % = one core. */
export class CpuMeter {
  readonly #pid: number;
  #cpuMs = 0;
  #wallMs = 0;

  constructor(pid: number) {
    this.#pid = pid;
  }

  start(): this {
    this.#cpuMs = readCpuMs(this.#pid);
    this.#wallMs = performance.now();
    return this;
  }

  /** CPU use since `start()` as a percentage of one core. */
  stop(): number {
    const cpu = readCpuMs(this.#pid) - this.#cpuMs;
    const wall = performance.now() - this.#wallMs;
    return wall > 0 ? (cpu / wall) * 100 : 0;
  }
}

/** CPU time the whole machine has been busy (all cores, everything but idle and iowait), in milliseconds. */
export function readMachineBusyMs(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return (((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) * 1000) / CLOCK_TICKS;
}

export interface CpuShares {
  /** % of one core (200 % = both cores of a 2-core machine). */
  serverCpuPercent: number;
  loadCpuPercent: number;
  /** Everything else on the machine meanwhile (other work, kernel threads): the noise indicator. */
  otherCpuPercent: number;
}

/** CPU use of the server, the load generator and everything else, between `start()` and `stop()`. */
export class CpuSharesMeter {
  readonly #server: CpuMeter;
  readonly #load: CpuMeter;
  #machineMs = 0;
  #wallMs = 0;

  constructor(serverPid: number, loadPid: number) {
    this.#server = new CpuMeter(serverPid);
    this.#load = new CpuMeter(loadPid);
  }

  start(): this {
    this.#server.start();
    this.#load.start();
    this.#machineMs = readMachineBusyMs();
    this.#wallMs = performance.now();
    return this;
  }

  stop(): CpuShares {
    const serverCpuPercent = this.#server.stop();
    const loadCpuPercent = this.#load.stop();
    const wall = performance.now() - this.#wallMs;
    const machine = wall > 0 ? ((readMachineBusyMs() - this.#machineMs) / wall) * 100 : 0;
    return { serverCpuPercent, loadCpuPercent, otherCpuPercent: Math.max(0, machine - serverCpuPercent - loadCpuPercent) };
  }
}
