// A real agent pushes its node's metrics through reportMetrics with its node credential, and the gateway shows them on
// the node: CPU, memory, disk, node_up, and per-GPU readings. There is no GPU on this machine: the GPUs come from a
// fake nvidia-smi on the agent's PATH that prints output recorded from a real one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJoinToken, startAgent, stopAgent, type TestAgent } from '../support/agents';
import { fakeNvidiaSmi } from '../support/fake-nvidia-smi';
import { startTestPlatform, type TestPlatform } from '../support/platform';

interface Metric {
  name: string;
  value: number;
  labels: { key: string; value: string }[];
}

const NODE_METRICS = `query($id: ID!) { node(id: $id) { name metrics { name value labels { key value } } } }`;

describe('node metrics', () => {
  let touchline: TestPlatform;
  let agent: TestAgent | undefined;
  const fake = fakeNvidiaSmi();

  beforeAll(async () => {
    touchline = await startTestPlatform('sqlite');
  });
  afterAll(async () => {
    if (agent) await stopAgent(agent);
    await touchline?.destroy();
    fake.remove();
  });

  async function nodeId(name: string): Promise<string> {
    const nodes = await touchline.gql(`{ nodes { edges { node { id name } } } }`);
    const edge = nodes.data?.nodes.edges.find((e: { node: { name: string } }) => e.node.name === name);
    if (!edge) throw new Error(`no node ${name}: ${JSON.stringify(nodes)}`);
    return edge.node.id as string;
  }

  /** Polls the node's metrics until every name in `names` is there. */
  async function metricsOf(id: string, names: string[], timeoutMs = 15_000): Promise<Metric[]> {
    const deadline = Date.now() + timeoutMs;
    let metrics: Metric[] = [];
    while (Date.now() < deadline) {
      const answer = await touchline.gql(NODE_METRICS, { id });
      expect(answer.errors).toBeUndefined();
      metrics = answer.data?.node.metrics ?? [];
      if (names.every((name) => metrics.some((metric) => metric.name === name))) return metrics;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`the node's metrics did not include ${names.join(', ')} in ${timeoutMs} ms; last seen: ${JSON.stringify(metrics, null, 2)}`);
  }

  it('shows the CPU, memory, disk and (faked) GPU readings an agent pushes every interval', async () => {
    agent = await startAgent(touchline, {
      name: 'metrics-agent',
      joinToken: await createJoinToken(touchline),
      detectGpus: true,
      metricsIntervalSeconds: 1,
      env: { PATH: `${fake.dir}:${process.env.PATH ?? ''}` },
    });
    const id = await nodeId('metrics-agent');
    const metrics = await metricsOf(id, ['node_up', 'node_cpu_utilization', 'node_memory_available_bytes', 'gpu_utilization']);
    const one = (name: string, gpu?: string) => {
      const found = metrics.filter((metric) => metric.name === name && (gpu === undefined || metric.labels.some((l) => l.key === 'gpu' && l.value === gpu)));
      expect(found, name).toHaveLength(1);
      return found[0]!;
    };

    // Every series is labelled with the node that reported it.
    for (const metric of metrics) expect(metric.labels, metric.name).toContainEqual({ key: 'node', value: id });

    expect(one('node_up').value).toBe(1);
    expect(one('node_cpu_utilization').value).toBeGreaterThanOrEqual(0);
    expect(one('node_cpu_utilization').value).toBeLessThanOrEqual(1);
    expect(one('node_memory_available_bytes').value).toBeGreaterThan(0);
    expect(one('node_memory_used_bytes').value).toBeGreaterThan(0);
    expect(one('node_memory_available_ratio').value).toBeGreaterThan(0);
    expect(one('node_memory_available_ratio').value).toBeLessThanOrEqual(1);
    expect(one('node_disk_available_bytes').value).toBeGreaterThan(0);
    expect(one('node_disk_used_bytes').value).toBeGreaterThan(0);

    // The fake nvidia-smi's recorded readings, in base units: GPU 0 busy; GPU 1 idle (its zeros are kept) and
    // without a power reading ([N/A]), so no gpu_power_watts for it.
    expect(one('gpu_utilization', '0').value).toBeCloseTo(0.87, 9);
    expect(one('gpu_memory_used_bytes', '0').value).toBe(31245 * 1024 * 1024);
    expect(one('gpu_temperature_celsius', '0').value).toBe(64);
    expect(one('gpu_power_watts', '0').value).toBeCloseTo(312.45, 9);
    expect(one('gpu_utilization', '1').value).toBe(0);
    expect(one('gpu_memory_used_bytes', '1').value).toBe(0);
    expect(one('gpu_temperature_celsius', '1').value).toBe(34);
    expect(metrics.filter((metric) => metric.name === 'gpu_power_watts')).toHaveLength(1);
    expect(one('gpu_utilization', '0').labels).toEqual([{ key: 'gpu', value: '0' }, { key: 'node', value: id }]);

    // And again every interval (1 s here): node_up's latest sample moves on.
    const upAt = async () => (await touchline.gql(`query($id: ID!) { node(id: $id) { metrics(names: ["node_up"]) { at } } }`, { id })).data?.node.metrics[0]?.at as string;
    const first = await upAt();
    const deadline = Date.now() + 5_000;
    let latest = first;
    while (latest === first && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      latest = await upAt();
    }
    expect(Date.parse(latest)).toBeGreaterThan(Date.parse(first));
  });
});
