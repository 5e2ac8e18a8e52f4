// The rules every installation starts with, enabled, as data: the service stores them once under these ids, and
// users tune them (threshold, for, severity...) or disable them like any other rule.
// Each names the metric it reads; the metrics side must ingest them under these names and labels.
import type { AlertRule } from './types';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;

export const BUILT_IN_RULES: readonly AlertRule[] = [
  {
    // Agents report node_up = 1 with every metrics push (and the scheduler 0 for a node it found NOT_READY): a node
    // with no sample for a minute has stopped sending. Fires within the window plus one evaluation interval.
    id: 'builtin-node-down',
    name: 'NodeDown',
    enabled: true,
    metric: 'node_up',
    matchers: [],
    aggregation: 'LAST',
    windowMs: 1 * MINUTE,
    by: ['node'],
    comparison: 'LT',
    threshold: 1,
    forMs: 0,
    keepFiringForMs: 0,
    severity: 'CRITICAL',
    summary: 'Node {{ $labels.node }} is down: no heartbeat in the last minute',
    absentFires: true,
  },
  {
    // One job_failed sample per finished job (1 failed, 0 succeeded), labelled with its model: their mean is the
    // share of the model's jobs that failed.
    id: 'builtin-job-failure-rate',
    name: 'ModelJobFailureRateHigh',
    enabled: true,
    metric: 'job_failed',
    matchers: [],
    aggregation: 'AVG',
    windowMs: 30 * MINUTE,
    by: ['model'],
    comparison: 'GT',
    threshold: 0.25,
    forMs: 5 * MINUTE,
    keepFiringForMs: 5 * MINUTE,
    severity: 'WARNING',
    summary: 'More than a quarter of the jobs of model {{ $labels.model }} failed in the last 30 minutes ({{ $value }})',
  },
  {
    // job_pending_seconds: how long each job still waiting for a node has waited, reported while it waits.
    id: 'builtin-job-stuck-pending',
    name: 'JobStuckPending',
    enabled: true,
    metric: 'job_pending_seconds',
    matchers: [],
    aggregation: 'LAST',
    windowMs: 2 * MINUTE,
    by: ['job', 'model'],
    comparison: 'GT',
    threshold: 15 * 60,
    forMs: 0,
    keepFiringForMs: 0,
    severity: 'WARNING',
    summary: 'Job {{ $labels.job }} of model {{ $labels.model }} has been pending for {{ $value }} s',
  },
  {
    id: 'builtin-gpu-temperature-high',
    name: 'GpuTemperatureHigh',
    enabled: true,
    metric: 'gpu_temperature_celsius',
    matchers: [],
    aggregation: 'AVG',
    windowMs: 1 * MINUTE,
    by: ['node', 'gpu'],
    comparison: 'GT',
    threshold: 85,
    forMs: 2 * MINUTE,
    keepFiringForMs: 2 * MINUTE,
    severity: 'WARNING',
    summary: 'GPU {{ $labels.gpu }} on node {{ $labels.node }} is at {{ $value }} °C (above {{ $threshold }} °C)',
  },
  {
    // node_memory_available_ratio: available / total memory (0-1), which agents report beside the byte counts
    // (node_memory_available_bytes, node_memory_used_bytes) since a rule reads one metric.
    id: 'builtin-node-memory-pressure',
    name: 'NodeMemoryPressure',
    enabled: true,
    metric: 'node_memory_available_ratio',
    matchers: [],
    aggregation: 'AVG',
    windowMs: 5 * MINUTE,
    by: ['node'],
    comparison: 'LT',
    threshold: 0.1,
    forMs: 5 * MINUTE,
    keepFiringForMs: 0,
    severity: 'WARNING',
    summary: 'Node {{ $labels.node }} has only {{ $value }} of its memory available',
  },
];
