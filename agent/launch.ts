// `touchline agent`: turns command-line flags (and TOUCHLINE_* defaults) into running agents: one for this
// machine, or N simulated nodes (`--simulate N`) whose jobs only wait, for scale tests and demos.
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../common/config';
import type { Logger } from '../common/logger';
import { Agent, type AgentOptions } from './agent';
import { parseGpuSpec, type DeclaredCapacity } from './capacity';
import { DockerRuntime } from './runtimes/docker';
import { ProcessRuntime } from './runtimes/process';
import type { Runtime } from './runtimes/runtime';
import { SimulatedRuntime } from './runtimes/simulated';

export const AGENT_USAGE = `Usage: touchline agent --gateway URL [--join-token TOKEN] [options]

  --gateway URL            the gateway's GraphQL endpoint (TOUCHLINE_GATEWAY_URL)
  --join-token TOKEN       a join token (createJoinToken); needed only the first time (TOUCHLINE_JOIN_TOKEN)
  --name NAME              the node's name (default: this host's name) (TOUCHLINE_NODE_NAME)
  --labels k=v,k2=v2       labels jobs can select the node by (TOUCHLINE_NODE_LABELS)
  --runtimes docker,process  runtimes to offer (default: process, plus docker when its engine answers) (TOUCHLINE_RUNTIMES)
  --cpu-millicores N       declare the CPU instead of detecting it
  --memory-mib N           declare the memory instead of detecting it
  --gpus 0:A100:40960,...  declare the GPUs (index:model:memory MiB) instead of asking nvidia-smi
  --reserved-cpu-millicores N, --reserved-memory-mib N   keep this much for the machine itself
  --state-dir DIR          where the node's credential and running attempts are kept (TOUCHLINE_AGENT_STATE_DIR)
  --metrics-interval SECONDS  push the node's metrics (CPU, memory, disk, GPUs) this often; 0 turns it off (default 10)
  --simulate N             run N simulated nodes (declared capacity; their jobs wait TOUCHLINE_SIMULATED_SECONDS);
                           they push no metrics unless --metrics-interval is given, and then their declared values`;

/** Seconds between metrics pushes when --metrics-interval is not given. */
export const DEFAULT_METRICS_INTERVAL_SECONDS = 10;

export class AgentUsageError extends Error {
  override name = 'AgentUsageError';
}

interface Flags {
  gateway?: string;
  joinToken?: string;
  name?: string;
  labels?: string;
  runtimes?: string;
  cpuMillicores?: number;
  memoryMiB?: number;
  gpus?: string;
  reservedCpuMillicores?: number;
  reservedMemoryMiB?: number;
  stateDir?: string;
  simulate?: number;
  metricsInterval?: number;
}

const NUMERIC = new Set(['cpuMillicores', 'memoryMiB', 'reservedCpuMillicores', 'reservedMemoryMiB', 'simulate', 'metricsInterval']);

export function parseAgentFlags(args: string[]): Flags {
  const flags: Record<string, string | number> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!match) throw new AgentUsageError(`Unexpected argument "${arg}"`);
    const name = match[1]!.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase()).replace(/Mib$/, 'MiB');
    const value = match[2] ?? args[++i];
    if (value === undefined) throw new AgentUsageError(`--${match[1]} needs a value`);
    if (!['gateway', 'joinToken', 'name', 'labels', 'runtimes', 'gpus', 'stateDir', ...NUMERIC].includes(name)) {
      throw new AgentUsageError(`Unknown option --${match[1]}`);
    }
    if (NUMERIC.has(name)) {
      if (!/^\d+$/.test(value)) throw new AgentUsageError(`--${match[1]} needs a whole number (got "${value}")`);
      flags[name] = Number(value);
    } else flags[name] = value;
  }
  return flags as Flags;
}

export function parseLabels(text: string | undefined): Record<string, string> {
  if (!text) return {};
  return Object.fromEntries(
    text.split(',').filter(Boolean).map((pair) => {
      const [key, value] = pair.split('=');
      if (!key || value === undefined) throw new AgentUsageError(`"${pair}" is not a label: write key=value`);
      return [key.trim(), value.trim()];
    }),
  );
}

/** A node name from the host name: lowercase letters, digits and inner hyphens. */
export function defaultNodeName(): string {
  const name = os.hostname().toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63);
  return name || 'node';
}

export interface RunningAgents {
  agents: Agent[];
  stop(): Promise<void>;
}

/** Starts the agent (or the simulated agents) that `flags` and the configuration describe. */
export async function launchAgents(flags: Flags, config: Config, logger: Logger): Promise<RunningAgents> {
  const gatewayUrl = flags.gateway ?? config.agent.gatewayUrl;
  if (!gatewayUrl) throw new AgentUsageError('touchline agent needs --gateway URL (or TOUCHLINE_GATEWAY_URL)');
  const stateDir = path.resolve(flags.stateDir ?? config.agent.stateDir);
  const base = {
    gatewayUrl,
    joinToken: flags.joinToken ?? config.agent.joinToken,
    name: flags.name ?? config.agent.nodeName ?? defaultNodeName(),
    labels: parseLabels(flags.labels ?? config.agent.labels),
    declared: declaredCapacity(flags),
    reserved: { cpuMillicores: flags.reservedCpuMillicores ?? 0, memoryMiB: flags.reservedMemoryMiB ?? 0 },
    metricsIntervalSeconds: flags.metricsInterval ?? DEFAULT_METRICS_INTERVAL_SECONDS,
  };

  if (flags.simulate !== undefined) {
    if (flags.simulate < 1 || flags.simulate > 10_000) throw new AgentUsageError('--simulate takes from 1 to 10000 nodes');
    const declared = { cpuMillicores: 8_000, memoryMiB: 32_768, gpus: [], ...base.declared };
    // Metrics from thousands of simulated nodes would only measure this one machine many times: off unless asked for.
    const metricsIntervalSeconds = flags.metricsInterval ?? 0;
    const agents = await Promise.all(
      Array.from({ length: flags.simulate }, (_, index) => {
        const name = `${base.name}-sim-${index + 1}`;
        return Agent.start({
          ...base,
          name,
          declared,
          metricsIntervalSeconds,
          simulated: true,
          labels: { ...base.labels, simulated: 'true' },
          stateDir: path.join(stateDir, name),
          runtimes: [new SimulatedRuntime({ logger })],
          logger: logger.child({ node: name }),
        });
      }),
    );
    return { agents, stop: async () => void (await Promise.all(agents.map((agent) => agent.stop()))) };
  }

  const runtimes = await chooseRuntimes(flags.runtimes ?? config.agent.runtimes, stateDir, base.name, config, logger);
  const agent = await Agent.start({ ...base, stateDir, runtimes, logger } satisfies AgentOptions);
  return { agents: [agent], stop: () => agent.stop() };
}

function declaredCapacity(flags: Flags): DeclaredCapacity {
  return {
    ...(flags.cpuMillicores !== undefined ? { cpuMillicores: flags.cpuMillicores } : {}),
    ...(flags.memoryMiB !== undefined ? { memoryMiB: flags.memoryMiB } : {}),
    ...(flags.gpus !== undefined ? { gpus: parseGpus(flags.gpus) } : {}),
  };
}

function parseGpus(spec: string) {
  try {
    return parseGpuSpec(spec);
  } catch (error) {
    throw new AgentUsageError(`--gpus: ${(error as Error).message}`);
  }
}

async function chooseRuntimes(names: string | undefined, stateDir: string, nodeName: string, config: Config, logger: Logger): Promise<Runtime[]> {
  const process = () =>
    new ProcessRuntime({
      workRoot: path.join(stateDir, 'work'),
      stateDir: path.join(stateDir, 'processes'),
      logger,
      searchPath: config.agent.jobPath,
    });
  const docker = () => new DockerRuntime({ nodeName, logger });
  if (!names) {
    const candidate = docker();
    return (await candidate.available()) ? [candidate, process()] : [process()];
  }
  const runtimes: Runtime[] = [];
  for (const name of names.split(',').map((part) => part.trim()).filter(Boolean)) {
    if (name === 'process') runtimes.push(process());
    else if (name === 'docker') {
      const candidate = docker();
      if (!(await candidate.available())) throw new AgentUsageError('--runtimes docker: the Docker Engine does not answer on /var/run/docker.sock');
      runtimes.push(candidate);
    } else if (name === 'simulated') runtimes.push(new SimulatedRuntime({ logger }));
    else throw new AgentUsageError(`--runtimes: unknown runtime "${name}" (known: docker, process, simulated)`);
  }
  if (runtimes.length === 0) throw new AgentUsageError('--runtimes: name at least one runtime');
  return runtimes;
}
