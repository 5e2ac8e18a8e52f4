// A version of a model: an immutable artifact with its resources, schemas, metrics, lineage and stage.
import { Directive, Field, Float, ID, ObjectType, registerEnumType } from 'type-graphql';
import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, type Relation } from 'typeorm';
import { ResourceRequests } from '../../../common/graphql/resources';
import { JSONScalar } from '../../../common/graphql/types';
import { Model } from '../model/model.entity';

export enum ModelStage {
  NONE = 'NONE',
  STAGING = 'STAGING',
  PRODUCTION = 'PRODUCTION',
  ARCHIVED = 'ARCHIVED',
}
registerEnumType(ModelStage, {
  name: 'ModelStage',
  description: 'Where a version is in its life. At most one version of a model is in PRODUCTION at a time.',
});

@ObjectType({ description: 'What a version runs: a container image, a command for the process runtime, or both.' })
export class ModelArtifact {
  @Field(() => String, { nullable: true, description: 'Container image reference, for example `registry.local/xg:1.2.0`.' })
  image!: string | null;

  @Field(() => [String], { nullable: true, description: 'Command and arguments, for the process runtime or to override the image.' })
  command!: string[] | null;
}

@ObjectType({ description: 'Where a version came from.' })
export class ModelLineage {
  @Field(() => String, { nullable: true, description: 'The Touchline job that trained it.' })
  sourceJobId!: string | null;

  @Field(() => String, { nullable: true, description: 'A run id in an external tracker (MLflow, W&B...).' })
  sourceRunId!: string | null;

  @Field(() => String, { nullable: true, description: 'The dataset it was trained on, for example `wyscout-shots@2024-06`.' })
  datasetRef!: string | null;
}

@ObjectType({ description: 'One training metric of a version.' })
export class TrainingMetric {
  @Field(() => String)
  name!: string;

  @Field(() => Float)
  value!: number;
}

@ObjectType({ description: 'A registered version of a model.' })
@Directive('@key(fields: "id")')
@Entity('model_version')
@Index('model_version_unique', ['modelId', 'version'], { unique: true })
@Index('model_version_order', ['modelId', 'sortKey'])
@Index('model_version_latest', ['modelId', 'isPrerelease', 'sortKey'])
export class ModelVersion {
  @Field(() => ID)
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 36 })
  modelId!: string;

  @ManyToOne(() => Model, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'model_id' })
  modelRow?: Relation<Model>;

  @Field(() => String, { description: 'Semantic version, unique within the model.' })
  @Column({ type: 'varchar', length: 128 })
  version!: string;

  /** Orders versions by semver precedence (see semverSortKey). */
  @Column({ type: 'varchar', length: 1024 })
  sortKey!: string;

  @Column({ type: 'boolean' })
  isPrerelease!: boolean;

  @Field(() => String, { nullable: true })
  @Column({ type: 'text', nullable: true })
  description!: string | null;

  @Column({ type: 'varchar', length: 512, nullable: true })
  image!: string | null;

  @Column({ type: 'json', nullable: true })
  command!: string[] | null;

  @Field(() => String, { nullable: true, description: 'For example `scikit-learn`, `xgboost`, `pytorch`.' })
  @Column({ type: 'varchar', length: 100, nullable: true })
  framework!: string | null;

  @Column({ type: 'integer' })
  cpuMillicores!: number;

  @Column({ type: 'integer' })
  memoryMib!: number;

  @Column({ type: 'integer' })
  gpuCount!: number;

  @Column({ type: 'integer' })
  gpuMemoryMib!: number;

  @Field(() => JSONScalar, { nullable: true, description: 'JSON Schema of the input it expects.' })
  @Column({ type: 'json', nullable: true })
  inputSchema!: object | null;

  @Field(() => JSONScalar, { nullable: true, description: 'JSON Schema of the output it produces.' })
  @Column({ type: 'json', nullable: true })
  outputSchema!: object | null;

  @Field(() => JSONScalar, { nullable: true, description: 'Free-form metadata (a JSON object of at most 64 KiB).' })
  @Column({ type: 'json', nullable: true })
  metadata!: object | null;

  @Column({ type: 'json' })
  trainingMetrics!: Record<string, number>;

  @Column({ type: 'varchar', length: 200, nullable: true })
  sourceJobId!: string | null;

  @Column({ type: 'varchar', length: 200, nullable: true })
  sourceRunId!: string | null;

  @Column({ type: 'varchar', length: 500, nullable: true })
  datasetRef!: string | null;

  @Field(() => ModelStage)
  @Index('model_version_stage')
  @Column({ type: 'varchar', length: 16 })
  stage!: ModelStage;

  @Field(() => String)
  @Column({ type: 'varchar', length: 200 })
  createdBy!: string;

  @Field(() => Date)
  @Column({ type: Date })
  createdAt!: Date;

  @Field(() => String, {
    nullable: true,
    description:
      "In a modelVersionRegistered event: the event's number in the models stream. Pass the last one received as " +
      'modelVersionRegistered(after:) to resume without missing a version. Null outside subscriptions.',
  })
  sequence?: string | null;

  @Field(() => ModelArtifact)
  get artifact(): ModelArtifact {
    return { image: this.image, command: this.command };
  }

  @Field(() => ResourceRequests, { description: 'What a job running this version asks for, unless it says otherwise.' })
  get resources(): ResourceRequests {
    return {
      cpuMillicores: this.cpuMillicores,
      memoryMiB: this.memoryMib,
      gpuCount: this.gpuCount,
      gpuMemoryMiB: this.gpuMemoryMib,
    };
  }

  @Field(() => ModelLineage)
  get lineage(): ModelLineage {
    return { sourceJobId: this.sourceJobId, sourceRunId: this.sourceRunId, datasetRef: this.datasetRef };
  }

  @Field(() => [TrainingMetric], { name: 'trainingMetrics', description: 'Metrics measured in training, by name.' })
  get trainingMetricList(): TrainingMetric[] {
    return Object.entries(this.trainingMetrics)
      .map(([name, value]) => ({ name, value }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }
}
