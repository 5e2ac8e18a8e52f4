// Deployment history: every time a version is deployed, scaled, shifted or taken down, in any environment.
import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { JSONScalar } from '../../../common/graphql/types';

export enum DeploymentAction {
  DEPLOYED = 'DEPLOYED',
  UNDEPLOYED = 'UNDEPLOYED',
  SCALED = 'SCALED',
  TRAFFIC_SHIFTED = 'TRAFFIC_SHIFTED',
  ROLLED_BACK = 'ROLLED_BACK',
  FAILED = 'FAILED',
}
registerEnumType(DeploymentAction, { name: 'DeploymentAction' });

@ObjectType({ description: 'Something that happened to a deployment of a model version.' })
@Entity('deployment_event')
@Index('deployment_event_model', ['modelId', 'id'])
@Index('deployment_event_version', ['versionId', 'id'])
export class DeploymentEvent {
  @Field(() => ID)
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 36 })
  modelId!: string;

  @Column({ type: 'varchar', length: 36 })
  versionId!: string;

  @Field(() => String, { description: 'For example `production`, `staging`, `matchday`.' })
  @Column({ type: 'varchar', length: 63 })
  environment!: string;

  @Field(() => DeploymentAction)
  @Column({ type: 'varchar', length: 20 })
  action!: DeploymentAction;

  @Field(() => JSONScalar, { nullable: true, description: 'Replicas, traffic split, reason... as the deployer recorded them.' })
  @Column({ type: 'json', nullable: true })
  details!: object | null;

  @Column({ type: 'varchar', length: 64 })
  actorId!: string;

  @Field(() => String)
  @Column({ type: 'varchar', length: 200 })
  actor!: string;

  @Field(() => Date)
  @Column({ type: Date })
  createdAt!: Date;
}
