// Payload of recordDeploymentEvent and the deployment history list type.
import { Field, ObjectType } from 'type-graphql';
import { Connection } from '../../../common/graphql/connection';
import { Payload } from '../../../common/graphql/types';
import { DeploymentEvent } from './deployment-event.entity';

@ObjectType()
export class RecordDeploymentEventPayload extends Payload {
  @Field(() => DeploymentEvent, { nullable: true })
  deploymentEvent?: DeploymentEvent;
}

export const DeploymentEventConnection = Connection(DeploymentEvent, 'DeploymentEvent');
export type DeploymentEventConnection = InstanceType<typeof DeploymentEventConnection>;
