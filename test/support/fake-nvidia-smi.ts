// A stand-in for nvidia-smi, for tests on machines without a GPU (all of ours): a script on PATH that prints
// what a real nvidia-smi printed for the queries the agent makes (its GPUs, and how busy they are).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Output recorded from `nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader,nounits` on a DGX-like host. */
export const RECORDED_OUTPUT = '0, NVIDIA A100-SXM4-40GB, 40960\n1, NVIDIA A100-SXM4-80GB, 81920\n';

/**
 * Output recorded from `nvidia-smi --query-gpu=index,utilization.gpu,memory.used,temperature.gpu,power.draw
 * --format=csv,noheader,nounits`: GPU 0 busy, GPU 1 idle (real zeros) with no power reading.
 */
export const RECORDED_UTILIZATION_OUTPUT = '0, 87, 31245, 64, 312.45\n1, 0, 0, 34, [N/A]\n';

/** Makes a folder holding a fake `nvidia-smi`; put it first on PATH. Returns the folder and how to remove it. */
export function fakeNvidiaSmi(output = RECORDED_OUTPUT, utilizationOutput = RECORDED_UTILIZATION_OUTPUT): { dir: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-nvidia-smi-'));
  const script = path.join(dir, 'nvidia-smi');
  fs.writeFileSync(
    script,
    `#!/bin/sh\n# Fake nvidia-smi for tests: no GPU exists on this machine.\ncase "$*" in\n*utilization.gpu*)\ncat <<'OUTPUT'\n${utilizationOutput}OUTPUT\n;;\n*)\ncat <<'OUTPUT'\n${output}OUTPUT\n;;\nesac\n`,
    { mode: 0o755 },
  );
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
