// One line of the audit log: who did what to which object, when, and how it ended. Every service keeps its own.
import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { DateTimeScalar, JSONScalar } from '../graphql/types';

export enum AuditOutcome {
  SUCCEEDED = 'SUCCEEDED',
  REJECTED = 'REJECTED',
  FORBIDDEN = 'FORBIDDEN',
  FAILED = 'FAILED',
}
registerEnumType(AuditOutcome, {
  name: 'AuditOutcome',
  description: 'SUCCEEDED: done; REJECTED: refused with userErrors; FORBIDDEN: the role was too low; FAILED: a system error.',
});

@ObjectType({ description: 'A mutation someone attempted, in any service, and how it ended.' })
@Entity('audit_entry')
@Index('audit_entry_actor', ['actorId'])
@Index('audit_entry_action', ['action'])
export class AuditEntry {
  @Field(() => ID)
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Field(() => String, { description: 'The service that recorded it: gateway, registry, scheduler or monitoring.' })
  @Column({ type: 'varchar', length: 32 })
  service!: string;

  @Field(() => String, { description: 'The id of the API key (or service) that acted.' })
  @Column({ type: 'varchar', length: 64 })
  actorId!: string;

  @Field(() => String)
  @Column({ type: 'varchar', length: 200 })
  actorName!: string;

  @Field(() => String, { description: 'The mutation, for example registerModelVersion.' })
  @Column({ type: 'varchar', length: 100 })
  action!: string;

  @Field(() => String, { nullable: true, description: 'The kind of object changed, for example modelVersion.' })
  @Column({ type: 'varchar', length: 50, nullable: true })
  targetType!: string | null;

  @Field(() => String, { nullable: true })
  @Column({ type: 'varchar', length: 100, nullable: true })
  targetId!: string | null;

  @Field(() => AuditOutcome)
  @Column({ type: 'varchar', length: 16 })
  outcome!: AuditOutcome;

  @Field(() => String, { nullable: true, description: 'Why it was rejected or failed.' })
  @Column({ type: 'text', nullable: true })
  detail!: string | null;

  @Field(() => JSONScalar, { nullable: true, description: 'The input the mutation was given (shortened when large).' })
  @Column({ type: 'json', nullable: true })
  input!: object | null;

  @Field(() => String)
  @Column({ type: 'varchar', length: 128 })
  requestId!: string;

  @Field(() => DateTimeScalar)
  @Column({ type: Date })
  createdAt!: Date;
}
