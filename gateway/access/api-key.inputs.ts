// Inputs of the API key mutations.
import { Field, ID, InputType } from 'type-graphql';
import { ApiKeyRole } from './api-key.entity';

@InputType()
export class CreateApiKeyInput {
  @Field(() => String, { description: 'What the key is for (at most 100 characters).' })
  name!: string;

  @Field(() => ApiKeyRole)
  role!: ApiKeyRole;

  @Field(() => Date, { nullable: true, description: 'When the key stops working; never, if left out.' })
  expiresAt?: Date | null;
}

@InputType()
export class RevokeApiKeyInput {
  @Field(() => ID)
  id!: string;
}
