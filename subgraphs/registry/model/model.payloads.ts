// Payloads of the model mutations and the model list type.
import { Field, ObjectType } from 'type-graphql';
import { Connection } from '../../../common/graphql/connection';
import { Payload } from '../../../common/graphql/types';
import { Model } from './model.entity';

@ObjectType()
export class CreateModelPayload extends Payload {
  @Field(() => Model, { nullable: true })
  model?: Model;
}

@ObjectType()
export class UpdateModelPayload extends Payload {
  @Field(() => Model, { nullable: true })
  model?: Model;
}

export const ModelConnection = Connection(Model, 'Model');
export type ModelConnection = InstanceType<typeof ModelConnection>;
