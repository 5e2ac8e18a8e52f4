// What an agent reports about its machine. There is no GPU here: GPUs come from a fake nvidia-smi that prints
// recorded output, or are declared, as the agent allows.
import { afterEach, describe, expect, it } from 'vitest';
import { detectCapacity, detectNvidiaGpus, parseGpuSpec, parseNvidiaSmi } from '../../agent/capacity';
import { fakeNvidiaSmi } from '../support/fake-nvidia-smi';

const originalPath = process.env.PATH;
afterEach(() => {
  process.env.PATH = originalPath;
});

describe('capacity', () => {
  it('reads GPUs from nvidia-smi (a fake one here: no GPU exists on this machine)', async () => {
    const fake = fakeNvidiaSmi();
    try {
      process.env.PATH = `${fake.dir}:${originalPath}`;
      expect(await detectNvidiaGpus()).toEqual([
        { index: 0, model: 'NVIDIA A100-SXM4-40GB', memoryMiB: 40960 },
        { index: 1, model: 'NVIDIA A100-SXM4-80GB', memoryMiB: 81920 },
      ]);
    } finally {
      fake.remove();
    }
  });

  it('finds no GPU when nvidia-smi is missing', async () => {
    process.env.PATH = '/nonexistent';
    expect(await detectNvidiaGpus()).toEqual([]);
  });

  it('detects CPU and memory, and lets declared values win', async () => {
    const detected = await detectCapacity({ gpus: [] });
    expect(detected.cpuMillicores).toBeGreaterThanOrEqual(1000);
    expect(detected.cpuMillicores % 1000).toBe(0);
    expect(detected.memoryMiB).toBeGreaterThan(100);
    expect(await detectCapacity({ cpuMillicores: 1500, memoryMiB: 777, gpus: [{ index: 3, model: 'L4', memoryMiB: 24576 }] })).toEqual({
      cpuMillicores: 1500,
      memoryMiB: 777,
      gpus: [{ index: 3, model: 'L4', memoryMiB: 24576 }],
    });
  });

  it('parses nvidia-smi output and GPU declarations, refusing malformed ones', () => {
    expect(parseNvidiaSmi('0, Tesla T4, 15360\n\nNo devices were found\n')).toEqual([{ index: 0, model: 'Tesla T4', memoryMiB: 15360 }]);
    expect(parseGpuSpec('0:A100:40960,1:A100:40960')).toEqual([
      { index: 0, model: 'A100', memoryMiB: 40960 },
      { index: 1, model: 'A100', memoryMiB: 40960 },
    ]);
    expect(parseGpuSpec('')).toEqual([]);
    expect(() => parseGpuSpec('0:A100')).toThrow(/index:model:memoryMiB/);
    expect(() => parseGpuSpec('x:A100:1')).toThrow(/is not a GPU/);
  });
});
