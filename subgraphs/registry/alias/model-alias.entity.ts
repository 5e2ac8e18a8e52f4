// A named pointer to one version of a model (`champion`, `challenger`), moved as versions are promoted.
import { Field, ObjectType } from 'type-graphql';
import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, type Relation } from 'typeorm';
import { Model } from '../model/model.entity';
import { ModelVersion } from '../version/model-version.entity';

@ObjectType({ description: 'A named pointer to one version of a model, such as `champion`.' })
@Entity('model_alias')
@Index('model_alias_version', ['versionId'])
export class ModelAlias {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  modelId!: string;

  @Field(() => String)
  @PrimaryColumn({ type: 'varchar', length: 63 })
  name!: string;

  @Column({ type: 'varchar', length: 36 })
  versionId!: string;

  @Field(() => String)
  @Column({ type: 'varchar', length: 200 })
  updatedBy!: string;

  @Field(() => Date)
  @Column({ type: Date })
  updatedAt!: Date;

  @ManyToOne(() => Model, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'model_id' })
  modelRow?: Relation<Model>;

  @ManyToOne(() => ModelVersion, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'version_id' })
  versionRow?: Relation<ModelVersion>;
}
