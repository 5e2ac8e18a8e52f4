// How metrics are stored: a series (a name and its labels) once, its raw samples by time, per-minute rollups of the
// samples older than the raw retention, and the lease that lets one monitoring instance at a time compact them.
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** Epoch milliseconds travel as numbers; PostgreSQL's driver returns bigint as a string. */
const epochMillis = { to: (value: number) => value, from: (value: string | number | null) => (value === null ? null : Number(value)) };

/** A metric name with one set of labels. */
@Entity('metric_series')
@Index('metric_series_name', ['name'])
@Index('metric_series_node', ['node'])
@Index('metric_series_job', ['job'])
export class StoredSeries {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 200 })
  name!: string;

  /** The labels, sorted by key: the series' identity with its name. */
  @Column({ type: 'simple-json' })
  labels!: Record<string, string>;

  /** SHA-256 of the name and sorted labels: one row per series. */
  @Index('metric_series_fingerprint', { unique: true })
  @Column({ type: 'varchar', length: 64 })
  fingerprint!: string;

  /** The `node` label, if any: so a node's series are found without reading every label set. */
  @Column({ type: 'varchar', length: 200, nullable: true })
  node!: string | null;

  /** The `job` label, if any. */
  @Column({ type: 'varchar', length: 200, nullable: true })
  job!: string | null;

  @Column({ type: Date })
  createdAt!: Date;
}

/** One raw sample; kept for the raw retention, then rolled up. */
@Entity('metric_sample')
@Index('metric_sample_at', ['at'])
export class MetricSample {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  seriesId!: string;

  /** When it was measured, in epoch milliseconds. */
  @PrimaryColumn({ type: 'bigint', transformer: epochMillis })
  at!: number;

  @Column({ type: 'double precision' })
  value!: number;
}

/** The samples of one series in one minute, summarized. */
@Entity('metric_rollup')
@Index('metric_rollup_minute', ['minute'])
export class MetricRollup {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  seriesId!: string;

  /** The minute's start, in epoch milliseconds. */
  @PrimaryColumn({ type: 'bigint', transformer: epochMillis })
  minute!: number;

  @Column({ type: 'double precision' })
  min!: number;

  @Column({ type: 'double precision' })
  max!: number;

  @Column({ type: 'double precision' })
  sum!: number;

  @Column({ type: 'integer' })
  count!: number;

  /** The minute's latest value, and when it was measured (epoch milliseconds). */
  @Column({ type: 'double precision' })
  last!: number;

  @Column({ type: 'bigint', transformer: epochMillis })
  lastAt!: number;
}

/** Held by the monitoring instance that runs metric compaction, renewed while it runs. */
@Entity('metrics_lease')
export class MetricsLease {
  @PrimaryColumn({ type: 'varchar', length: 50 })
  name!: string;

  @Column({ type: 'varchar', length: 100 })
  holder!: string;

  @Column({ type: Date })
  expiresAt!: Date;
}
