// Payloads of the version mutations and the version list type.
import { Field, ObjectType } from 'type-graphql';
import { Connection } from '../../../common/graphql/connection';
import { Payload } from '../../../common/graphql/types';
import { ModelVersion } from './model-version.entity';

@ObjectType()
export class RegisterModelVersionPayload extends Payload {
  @Field(() => ModelVersion, { nullable: true })
  modelVersion?: ModelVersion;
}

@ObjectType()
export class UpdateModelVersionPayload extends Payload {
  @Field(() => ModelVersion, { nullable: true })
  modelVersion?: ModelVersion;
}

@ObjectType()
export class TransitionModelVersionStagePayload extends Payload {
  @Field(() => ModelVersion, { nullable: true })
  modelVersion?: ModelVersion;
}

export const ModelVersionConnection = Connection(ModelVersion, 'ModelVersion');
export type ModelVersionConnection = InstanceType<typeof ModelVersionConnection>;
