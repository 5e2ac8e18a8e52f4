// Payloads of the alias and rollback mutations.
import { Field, ObjectType } from 'type-graphql';
import { Payload } from '../../../common/graphql/types';
import { Model } from '../model/model.entity';
import { ModelVersion } from '../version/model-version.entity';
import { ModelAlias } from './model-alias.entity';

@ObjectType()
export class SetModelAliasPayload extends Payload {
  @Field(() => ModelAlias, { nullable: true })
  modelAlias?: ModelAlias;

  @Field(() => ModelVersion, { nullable: true, description: 'The version the alias now points at.' })
  modelVersion?: ModelVersion;
}

@ObjectType()
export class DeleteModelAliasPayload extends Payload {
  @Field(() => Model, { nullable: true })
  model?: Model;
}

@ObjectType()
export class RollbackModelPayload extends Payload {
  @Field(() => Model, { nullable: true })
  model?: Model;

  @Field(() => ModelVersion, { nullable: true, description: 'The version the alias or the production stage now points at.' })
  modelVersion?: ModelVersion;
}
