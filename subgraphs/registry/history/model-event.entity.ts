// The history of a model: every version registered, stage change and alias move, with who, when, from, to and why.
// It is also the registry's `models` stream, which subscriptions follow (history/model-event.subscriptions.ts).
import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { ModelStage } from '../version/model-version.entity';

export enum ModelEventKind {
  VERSION_REGISTERED = 'VERSION_REGISTERED',
  STAGE_CHANGED = 'STAGE_CHANGED',
  ALIAS_MOVED = 'ALIAS_MOVED',
}
registerEnumType(ModelEventKind, {
  name: 'ModelEventKind',
  description:
    'VERSION_REGISTERED: a version was registered. STAGE_CHANGED: a version changed stage. ALIAS_MOVED: an alias was set, moved or removed.',
});

@ObjectType({ description: 'A version registered, a stage change or an alias move.' })
@Entity('model_event')
@Index('model_event_model', ['modelId', 'id'])
@Index('model_event_version', ['versionId', 'id'])
@Index('model_event_sequence', ['sequence'], { unique: true })
export class ModelEvent {
  /**
   * The event's number in the `models` stream, given at commit (common/events/stream.ts). GraphQL shows it as a
   * string (ModelEventResolver.sequence): PostgreSQL returns bigint columns as strings, SQLite as numbers.
   */
  @Column({ type: 'bigint' })
  sequence!: number;

  @Field(() => ID)
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 36 })
  modelId!: string;

  @Field(() => ModelEventKind)
  @Column({ type: 'varchar', length: 20 })
  kind!: ModelEventKind;

  /**
   * The version registered (VERSION_REGISTERED), the version whose stage changed (STAGE_CHANGED), or the version an
   * alias now points at (ALIAS_MOVED).
   */
  @Column({ type: 'varchar', length: 36, nullable: true })
  versionId!: string | null;

  @Field(() => String, { nullable: true, description: 'The alias moved (ALIAS_MOVED).' })
  @Column({ type: 'varchar', length: 63, nullable: true })
  alias!: string | null;

  @Column({ type: 'varchar', length: 36, nullable: true })
  fromVersionId!: string | null;

  @Column({ type: 'varchar', length: 36, nullable: true })
  toVersionId!: string | null;

  @Field(() => ModelStage, { nullable: true })
  @Column({ type: 'varchar', length: 16, nullable: true })
  fromStage!: ModelStage | null;

  @Field(() => ModelStage, { nullable: true })
  @Column({ type: 'varchar', length: 16, nullable: true })
  toStage!: ModelStage | null;

  @Field(() => Boolean, { description: 'True when this change was made by rollbackModel.' })
  @Column({ type: 'boolean' })
  rollback!: boolean;

  @Field(() => String, { nullable: true })
  @Column({ type: 'text', nullable: true })
  reason!: string | null;

  @Column({ type: 'varchar', length: 64 })
  actorId!: string;

  @Field(() => String, { description: 'Who made the change (the API key\'s name).' })
  @Column({ type: 'varchar', length: 200 })
  actor!: string;

  @Field(() => Date)
  @Column({ type: Date })
  createdAt!: Date;
}
