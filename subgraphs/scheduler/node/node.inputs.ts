// Inputs of the node and join token mutations.
import { Field, ID, InputType, Int } from 'type-graphql';
import { NodeStatus } from './node.entity';

@InputType()
export class NodeRefInput {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true })
  reason?: string | null;
}

@InputType()
export class DrainNodeInput {
  @Field(() => ID)
  id!: string;

  @Field(() => Int, { nullable: true, description: 'Jobs still running after this many seconds move to other nodes (default 3600).' })
  deadlineSeconds?: number | null;
}

@InputType()
export class RemoveNodeInput {
  @Field(() => ID)
  id!: string;

  @Field(() => Boolean, { nullable: true, description: 'Remove it even though jobs run on it: they start again elsewhere.' })
  force?: boolean | null;
}

@InputType()
export class CreateJoinTokenInput {
  @Field(() => String, { description: 'What it is for, for example `gpu rack 2`.' })
  name!: string;

  @Field(() => Int, { nullable: true, description: 'How many nodes may enroll with it (default 1).' })
  maxUses?: number | null;

  @Field(() => Int, { nullable: true, description: 'How long it stays valid, in seconds (default 86400, at most 30 days).' })
  expiresInSeconds?: number | null;
}

@InputType()
export class RevokeJoinTokenInput {
  @Field(() => ID)
  id!: string;
}

@InputType()
export class NodeFilter {
  @Field(() => [NodeStatus], { nullable: true })
  statuses?: NodeStatus[] | null;
}
