// The node metrics stream's events: one per report a node agent sends, with the samples it stored, numbered in the
// `node-metrics` stream that `nodeMetricsUpdated` follows. Kept only as far back as subscriptions may resume.
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** A stored sample as the event carries it. */
export interface ReportedSample {
  name: string;
  labels: Record<string, string>;
  /** Milliseconds since the epoch. */
  at: number;
  value: number;
}

@Entity('node_metrics_event')
export class NodeMetricsEvent {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Index('node_metrics_event_sequence', { unique: true })
  @Column({ type: 'bigint' })
  sequence!: number;

  @Column({ type: 'varchar', length: 36 })
  nodeId!: string;

  @Column({ type: Date })
  at!: Date;

  @Column({ type: 'simple-json' })
  samples!: ReportedSample[];
}
