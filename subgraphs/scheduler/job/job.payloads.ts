// Payloads of the job mutations, the job list type, and the registry's ModelVersion as the scheduler sees it.
import { Directive, Field, ID, ObjectType } from 'type-graphql';
import { Connection } from '../../../common/graphql/connection';
import { Payload } from '../../../common/graphql/types';
import { Job } from './job.entity';

@ObjectType()
export class SubmitJobPayload extends Payload {
  @Field(() => Job, { nullable: true })
  job?: Job;
}

@ObjectType()
export class CancelJobPayload extends Payload {
  @Field(() => Job, { nullable: true })
  job?: Job;
}

@ObjectType()
export class RetryJobPayload extends Payload {
  @Field(() => Job, { nullable: true })
  job?: Job;
}

export const JobConnection = Connection(Job, 'Job');
export type JobConnection = InstanceType<typeof JobConnection>;

/** The registry's entity, referenced by id: the gateway fetches its fields from the registry. */
@ObjectType('ModelVersion')
@Directive('@key(fields: "id", resolvable: false)')
export class ModelVersionReference {
  @Field(() => ID)
  id!: string;
}
