// Payloads of the API key mutations, and the key list type.
import { Field, ObjectType } from 'type-graphql';
import { Connection } from '../../common/graphql/connection';
import { Payload } from '../../common/graphql/types';
import { ApiKey } from './api-key.entity';

@ObjectType()
export class CreateApiKeyPayload extends Payload {
  @Field(() => ApiKey, { nullable: true })
  apiKey?: ApiKey;

  @Field(() => String, { nullable: true, description: 'The key itself. Shown this once: store it now.' })
  key?: string;
}

@ObjectType()
export class RevokeApiKeyPayload extends Payload {
  @Field(() => ApiKey, { nullable: true })
  apiKey?: ApiKey;
}

export const ApiKeyConnection = Connection(ApiKey, 'ApiKey');
export type ApiKeyConnection = InstanceType<typeof ApiKeyConnection>;
