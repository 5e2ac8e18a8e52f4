// Input of recordDeploymentEvent.
import { Field, InputType } from 'type-graphql';
import { JSONScalar } from '../../../common/graphql/types';
import { DeploymentAction } from './deployment-event.entity';

@InputType()
export class RecordDeploymentEventInput {
  @Field(() => String)
  model!: string;

  @Field(() => String)
  version!: string;

  @Field(() => String, { description: 'Lowercase slug, for example `production`.' })
  environment!: string;

  @Field(() => DeploymentAction)
  action!: DeploymentAction;

  @Field(() => JSONScalar, { nullable: true, description: 'A JSON object of at most 16 KiB.' })
  details?: unknown;
}
