// What the silence mutations answer, and the list of silences.
import { Field, ObjectType } from 'type-graphql';
import { Connection } from '../../../common/graphql/connection';
import { Payload } from '../../../common/graphql/types';
import { Silence } from './silence.entity';

@ObjectType()
export class CreateSilencePayload extends Payload {
  @Field(() => Silence, { nullable: true })
  silence: Silence | null = null;
}

@ObjectType()
export class ExpireSilencePayload extends Payload {
  @Field(() => Silence, { nullable: true })
  silence: Silence | null = null;
}

export const SilenceConnection = Connection(Silence, 'Silence');
export type SilenceConnection = InstanceType<typeof SilenceConnection>;
