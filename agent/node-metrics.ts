// The node's own metrics, pushed to the monitoring subgraph in one batch per interval (reportMetrics: sent with the
// node's credential, they are stored as this node's): CPU, memory, the state folder's disk and each NVIDIA GPU, in
// Prometheus' base units, plus node_up = 1. Sampling and pushing run on their own timer, apart from the heartbeats,
// and never wait for each other.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { promisify } from 'node:util';
import si from 'systeminformation';
import type { Logger } from '../common/logger';
import type { Capacity } from './capacity';
import { AgentRefused, type GatewayClient } from './gateway-client';

const run = promisify(execFile);
const MiB = 1024 * 1024;
/** The longest wait between pushes while they fail. */
const MAX_BACKOFF_MS = 5 * 60_000;
const NVIDIA_SMI_TIMEOUT_MS = 5_000;

const REPORT_METRICS = `mutation($input: ReportMetricsInput!) { reportMetrics(input: $input) { accepted rejected { index field reason } } }`;

export interface MetricSample {
  name: string;
  labels?: { key: string; value: string }[];
  value: number;
  at: string;
}

/** Where a node's samples come from: its machine, or (for simulated nodes) what was declared. */
export type NodeSampler = () => Promise<MetricSample[]>;

interface CpuTimes {
  idle: number;
  total: number;
}

function cpuTimes(): CpuTimes {
  let idle = 0;
  let total = 0;
  for (const cpu of os.cpus()) {
    const { user, nice, sys, idle: cpuIdle, irq } = cpu.times;
    idle += cpuIdle;
    total += user + nice + sys + cpuIdle + irq;
  }
  return { idle, total };
}

/**
 * Samples this machine. CPU utilization is the busy share of CPU time since the previous sample (os.cpus deltas:
 * no baseline wait, nothing blocking); memory from systeminformation's `available` (its `used` counts page cache);
 * disk from statfs of `stateDir`; GPUs from nvidia-smi run as a child process with a timeout.
 */
export function machineSampler(options: { stateDir: string; capacity: Capacity; logger: Logger }): NodeSampler {
  let previous = cpuTimes();
  let gpuFailureLogged = false;
  return async () => {
    const at = new Date().toISOString();
    const [memory, disk, gpus] = await Promise.all([
      si.mem(),
      fs.promises.statfs(options.stateDir).catch(() => undefined),
      options.capacity.gpus.length > 0
        ? sampleNvidiaGpus().catch((error: unknown) => {
            if (!gpuFailureLogged) options.logger.debug({ err: error }, 'nvidia-smi did not answer: no GPU metrics this time');
            gpuFailureLogged = true;
            return [];
          })
        : [],
    ]);
    const now = cpuTimes();
    const busyShare = now.total > previous.total ? 1 - (now.idle - previous.idle) / (now.total - previous.total) : 0;
    previous = now;

    const samples: MetricSample[] = [
      { name: 'node_up', value: 1, at },
      { name: 'node_cpu_utilization', value: clampRatio(busyShare), at },
    ];
    if (memory.total > 0) {
      samples.push(
        { name: 'node_memory_available_bytes', value: memory.available, at },
        { name: 'node_memory_used_bytes', value: Math.max(0, memory.total - memory.available), at },
        { name: 'node_memory_available_ratio', value: clampRatio(memory.available / memory.total), at },
      );
    }
    if (disk) {
      samples.push(
        { name: 'node_disk_used_bytes', value: (disk.blocks - disk.bfree) * disk.bsize, at },
        { name: 'node_disk_available_bytes', value: disk.bavail * disk.bsize, at },
      );
    }
    for (const gpu of gpus) samples.push(...gpuSamples(gpu, at));
    return samples;
  };
}

/** Samples for a simulated node: up, idle, with all its declared memory free. Nothing is measured (cheap at 5,000 nodes). */
export function declaredSampler(capacity: Capacity): NodeSampler {
  return () => {
    const at = new Date().toISOString();
    const bytes = capacity.memoryMiB * MiB;
    return Promise.resolve([
      { name: 'node_up', value: 1, at },
      { name: 'node_cpu_utilization', value: 0, at },
      { name: 'node_memory_available_bytes', value: bytes, at },
      { name: 'node_memory_used_bytes', value: 0, at },
      { name: 'node_memory_available_ratio', value: 1, at },
    ]);
  };
}

export interface GpuReading {
  index: number;
  /** Each null when nvidia-smi says [N/A] or [Not Supported]. */
  utilization: number | null;
  memoryUsedMiB: number | null;
  temperatureCelsius: number | null;
  powerWatts: number | null;
}

/** Asks nvidia-smi (asynchronously, with a timeout) how busy each GPU is. */
export async function sampleNvidiaGpus(): Promise<GpuReading[]> {
  const { stdout } = await run('nvidia-smi', ['--query-gpu=index,utilization.gpu,memory.used,temperature.gpu,power.draw', '--format=csv,noheader,nounits'], {
    timeout: NVIDIA_SMI_TIMEOUT_MS,
  });
  return parseGpuReadings(stdout);
}

export function parseGpuReadings(output: string): GpuReading[] {
  const number = (text: string | undefined) => (text !== undefined && /^\d+(\.\d+)?$/.test(text) ? Number(text) : null);
  return output
    .split('\n')
    .map((line) => line.split(',').map((part) => part.trim()))
    .filter((parts) => parts.length >= 5 && /^\d+$/.test(parts[0]!))
    .map(([index, utilization, memoryUsed, temperature, power]) => ({
      index: Number(index),
      utilization: number(utilization),
      memoryUsedMiB: number(memoryUsed),
      temperatureCelsius: number(temperature),
      powerWatts: number(power),
    }));
}

function gpuSamples(gpu: GpuReading, at: string): MetricSample[] {
  const labels = [{ key: 'gpu', value: String(gpu.index) }];
  const samples: MetricSample[] = [];
  // A real 0 (an idle GPU) is a value, not a missing one.
  if (gpu.utilization !== null) samples.push({ name: 'gpu_utilization', labels, value: clampRatio(gpu.utilization / 100), at });
  if (gpu.memoryUsedMiB !== null) samples.push({ name: 'gpu_memory_used_bytes', labels, value: gpu.memoryUsedMiB * MiB, at });
  if (gpu.temperatureCelsius !== null) samples.push({ name: 'gpu_temperature_celsius', labels, value: gpu.temperatureCelsius, at });
  if (gpu.powerWatts !== null) samples.push({ name: 'gpu_power_watts', labels, value: gpu.powerWatts, at });
  return samples;
}

function clampRatio(value: number): number {
  return Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0;
}

interface ReportAnswer {
  reportMetrics: { accepted: number; rejected: { index: number; field: string; reason: string }[] };
}

/** Pushes a batch of samples every interval; backs off while pushes fail. */
export class NodeMetricsReporter {
  private timer: NodeJS.Timeout | undefined;
  private pushing: Promise<void> | undefined;
  private stopped = false;
  private failures = 0;
  /** Rejection reasons already logged: each is logged once. */
  private readonly rejectionsLogged = new Set<string>();

  constructor(
    private readonly client: GatewayClient,
    private readonly sample: NodeSampler,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  /** The first push comes after `firstDelayMs` (jitter spreads many simulated nodes apart). */
  start(firstDelayMs = this.intervalMs): void {
    if (this.intervalMs <= 0) return;
    this.schedule(firstDelayMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.pushing;
  }

  private schedule(waitMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.pushing = this.push().finally(() => {
        this.pushing = undefined;
        const wait = this.failures ? Math.min(this.intervalMs * 2 ** this.failures, MAX_BACKOFF_MS) * (0.5 + Math.random() / 2) : this.intervalMs;
        this.schedule(wait);
      });
    }, waitMs);
    // The heartbeat keeps the agent alive; metrics alone must not.
    this.timer.unref();
  }

  private async push(): Promise<void> {
    try {
      const samples = await this.sample();
      const answer = (await this.client.call<ReportAnswer>(REPORT_METRICS, { input: { samples } })).reportMetrics;
      for (const rejection of answer.rejected) {
        const sample = samples[rejection.index];
        const key = `${sample?.name ?? '?'} ${rejection.field}: ${rejection.reason}`;
        if (this.rejectionsLogged.has(key)) continue;
        this.rejectionsLogged.add(key);
        this.logger.debug({ metric: sample?.name, field: rejection.field, reason: rejection.reason }, 'the monitoring subgraph rejected a node metric');
      }
      if (this.failures > 0) this.logger.info({ failures: this.failures }, 'node metrics accepted again');
      this.failures = 0;
    } catch (error) {
      this.failures += 1;
      if (this.failures === 1) {
        const refused = error instanceof AgentRefused;
        this.logger.warn({ err: error, refused }, 'could not push node metrics; backing off');
      } else this.logger.debug({ err: error, failures: this.failures }, 'pushing node metrics failed again');
    }
  }
}
