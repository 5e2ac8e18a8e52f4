// Payloads of the node and join token mutations, and the node list type.
import { Field, ObjectType } from 'type-graphql';
import { Connection } from '../../../common/graphql/connection';
import { Payload } from '../../../common/graphql/types';
import { JoinToken, Node } from './node.entity';

@ObjectType()
export class CordonNodePayload extends Payload {
  @Field(() => Node, { nullable: true })
  node?: Node;
}

@ObjectType()
export class UncordonNodePayload extends Payload {
  @Field(() => Node, { nullable: true })
  node?: Node;
}

@ObjectType()
export class DrainNodePayload extends Payload {
  @Field(() => Node, { nullable: true })
  node?: Node;
}

@ObjectType()
export class RemoveNodePayload extends Payload {
  @Field(() => Node, { nullable: true })
  node?: Node;
}

@ObjectType()
export class CreateJoinTokenPayload extends Payload {
  @Field(() => JoinToken, { nullable: true })
  joinToken?: JoinToken;

  @Field(() => String, { nullable: true, description: 'The token itself, for `touchline agent --join-token`. Shown this once.' })
  token?: string;
}

@ObjectType()
export class RevokeJoinTokenPayload extends Payload {
  @Field(() => JoinToken, { nullable: true })
  joinToken?: JoinToken;
}

export const NodeConnection = Connection(Node, 'Node');
export type NodeConnection = InstanceType<typeof NodeConnection>;
