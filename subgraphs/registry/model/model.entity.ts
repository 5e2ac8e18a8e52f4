// A model: the thing a team trains and ships in versions (expected goals, win probability, player load...).
import { Directive, Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, type Relation } from 'typeorm';

export enum ModelTask {
  CLASSIFICATION = 'CLASSIFICATION',
  REGRESSION = 'REGRESSION',
  RANKING = 'RANKING',
  FORECASTING = 'FORECASTING',
  SIMULATION = 'SIMULATION',
  CLUSTERING = 'CLUSTERING',
  OTHER = 'OTHER',
}
registerEnumType(ModelTask, { name: 'ModelTask', description: 'The kind of prediction a model makes.' });

@ObjectType({ description: 'A model registered in Touchline, with its versions, aliases and history.' })
@Directive('@key(fields: "id")')
@Entity('model')
export class Model {
  @Field(() => ID)
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Field(() => String, { description: 'Unique lowercase slug, for example `xg-shot-model`.' })
  @Index('model_name_unique', { unique: true })
  @Column({ type: 'varchar', length: 63 })
  name!: string;

  @Field(() => String, { nullable: true })
  @Column({ type: 'text', nullable: true })
  description!: string | null;

  @Field(() => String, { nullable: true, description: 'The sport it is for, as a lowercase slug: `football`, `basketball`...' })
  @Index('model_sport')
  @Column({ type: 'varchar', length: 50, nullable: true })
  sport!: string | null;

  @Field(() => ModelTask, { nullable: true })
  @Column({ type: 'varchar', length: 20, nullable: true })
  task!: ModelTask | null;

  @Field(() => String, { nullable: true, description: 'Who answers for it: a person or a team.' })
  @Column({ type: 'varchar', length: 200, nullable: true })
  owner!: string | null;

  @Field(() => String)
  @Column({ type: 'varchar', length: 200 })
  createdBy!: string;

  @Field(() => Date)
  @Column({ type: Date })
  createdAt!: Date;

  @Field(() => Date)
  @Column({ type: Date })
  updatedAt!: Date;
}

@Entity('model_tag')
@Index('model_tag_tag', ['tag'])
export class ModelTag {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  modelId!: string;

  @PrimaryColumn({ type: 'varchar', length: 50 })
  tag!: string;

  @ManyToOne(() => Model, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'model_id' })
  model?: Relation<Model>;
}
