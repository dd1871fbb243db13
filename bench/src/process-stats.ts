import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second for /proc/<pid>/stat times (USER_HZ; 100 on every mainstream Linux). */
const CLOCK_TICKS = 100;

/** Resident set size of a process in bytes, from `VmRSS` in /proc/<pid>/status. */
export function readRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

/** A process and everything it started (children, grandchildren…), found through the parent pids in /proc. */
export function processTree(rootPid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  const tree = [rootPid];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]!) ?? []));
  return tree;
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
    const { cpuMs, wallMs } = this.read();
    return wallMs > 0 ? (cpuMs / wallMs) * 100 : 0;
  }

  /** CPU time used and wall time passed since `start()`, in ms. */
  read(): { cpuMs: number; wallMs: number } {
    return { cpuMs: readCpuMs(this.#pid) - this.#cpuMs, wallMs: performance.now() - this.#wallMs };
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
  /** All load-generator processes together. */
  loadCpuPercent: number;
  /** Everything else on the machine meanwhile (other work, kernel threads): the noise indicator. */
  otherCpuPercent: number;
  /** CPU time the server used over the interval, ms (for per-operation costs). */
  serverCpuMs: number;
  /** The interval, ms. */
  wallMs: number;
}

/** CPU use of the server, the load generator(s) and everything else, between `start()` and `stop()`. */
export class CpuSharesMeter {
  readonly #servers: CpuMeter[];
  readonly #loads: CpuMeter[];
  #machineMs = 0;
  #wallMs = 0;

  /** Several server pids (a cluster's nodes): their CPU is added up as the server's. */
  constructor(serverPids: number | readonly number[], loadPids: number | readonly number[]) {
    this.#servers = (typeof serverPids === 'number' ? [serverPids] : serverPids).map((pid) => new CpuMeter(pid));
    this.#loads = (typeof loadPids === 'number' ? [loadPids] : loadPids).map((pid) => new CpuMeter(pid));
  }

  start(): this {
    for (const server of this.#servers) server.start();
    for (const load of this.#loads) load.start();
    this.#machineMs = readMachineBusyMs();
    this.#wallMs = performance.now();
    return this;
  }

  stop(): CpuShares {
    const serverCpuMs = this.#servers.reduce((sum, server) => sum + server.read().cpuMs, 0);
    const loadCpuMs = this.#loads.reduce((sum, load) => sum + load.read().cpuMs, 0);
    const wall = performance.now() - this.#wallMs;
    const percent = (ms: number) => (wall > 0 ? (ms / wall) * 100 : 0);
    const serverCpuPercent = percent(serverCpuMs);
    const loadCpuPercent = percent(loadCpuMs);
    const machine = percent(readMachineBusyMs() - this.#machineMs);
    return {
      serverCpuPercent,
      loadCpuPercent,
      otherCpuPercent: Math.max(0, machine - serverCpuPercent - loadCpuPercent),
      serverCpuMs,
      wallMs: wall,
    };
  }
}
