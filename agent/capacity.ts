// What this machine offers: CPU and memory from systeminformation, NVIDIA GPUs from nvidia-smi (asked directly
// and asynchronously: systeminformation's graphics() blocks the event loop and hides zeros), and what the
// operator declared, which takes precedence.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import si from 'systeminformation';

const run = promisify(execFile);

export interface GpuInfo {
  index: number;
  model: string | null;
  memoryMiB: number;
}

export interface Capacity {
  cpuMillicores: number;
  memoryMiB: number;
  gpus: GpuInfo[];
}

export interface DeclaredCapacity {
  cpuMillicores?: number;
  memoryMiB?: number;
  /** When given, these GPUs and no others (nvidia-smi is not asked). */
  gpus?: GpuInfo[];
}

export async function detectCapacity(declared: DeclaredCapacity = {}): Promise<Capacity> {
  const [cpu, memory, gpus] = await Promise.all([
    declared.cpuMillicores === undefined ? si.cpu() : undefined,
    declared.memoryMiB === undefined ? si.mem() : undefined,
    declared.gpus ?? detectNvidiaGpus(),
  ]);
  return {
    cpuMillicores: declared.cpuMillicores ?? (cpu?.cores ?? 1) * 1000,
    memoryMiB: declared.memoryMiB ?? Math.floor((memory?.total ?? 0) / (1024 * 1024)),
    gpus,
  };
}

/** The NVIDIA GPUs nvidia-smi lists; none when it is missing or fails. */
export async function detectNvidiaGpus(): Promise<GpuInfo[]> {
  try {
    const { stdout } = await run('nvidia-smi', ['--query-gpu=index,name,memory.total', '--format=csv,noheader,nounits'], { timeout: 10_000 });
    return parseNvidiaSmi(stdout);
  } catch {
    return [];
  }
}

export function parseNvidiaSmi(output: string): GpuInfo[] {
  return output
    .split('\n')
    .map((line) => line.split(',').map((part) => part.trim()))
    .filter((parts) => parts.length >= 3 && /^\d+$/.test(parts[0]!) && /^\d+$/.test(parts[2]!))
    .map(([index, name, memory]) => ({ index: Number(index), model: name || null, memoryMiB: Number(memory) }));
}

/** Parses `--gpus 0:A100:40960,1:A100:40960` (index:model:memory MiB). */
export function parseGpuSpec(spec: string): GpuInfo[] {
  return spec
    .split(',')
    .filter((part) => part.trim() !== '')
    .map((part) => {
      const [index, model, memory] = part.split(':').map((piece) => piece.trim());
      if (!index || !/^\d+$/.test(index) || !memory || !/^\d+$/.test(memory)) {
        throw new Error(`"${part}" is not a GPU: write index:model:memoryMiB, for example 0:A100:40960`);
      }
      return { index: Number(index), model: model || null, memoryMiB: Number(memory) };
    });
}
