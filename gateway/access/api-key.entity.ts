// An API key: how people, dashboards and partner scripts authenticate. Only a hash of the key is stored.
import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import type { Role } from '../../common/auth/identity';

export enum ApiKeyRole {
  VIEWER = 'viewer',
  OPERATOR = 'operator',
  ADMIN = 'admin',
}
registerEnumType(ApiKeyRole, {
  name: 'Role',
  description: 'VIEWER: queries and subscriptions. OPERATOR: also mutations on models, jobs and deployments. ADMIN: also API keys and the audit log.',
});

export enum ApiKeyStatus {
  ACTIVE = 'ACTIVE',
  EXPIRED = 'EXPIRED',
  REVOKED = 'REVOKED',
}
registerEnumType(ApiKeyStatus, { name: 'ApiKeyStatus' });

@ObjectType({ description: 'An API key. The key itself is shown once, when it is created.' })
@Entity('api_key')
export class ApiKey {
  @Field(() => ID)
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Field(() => String, { description: 'What the key is for, for example `grafana` or `alice laptop`.' })
  @Column({ type: 'varchar', length: 100 })
  name!: string;

  @Field(() => ApiKeyRole)
  @Column({ type: 'varchar', length: 16 })
  role!: Role;

  @Field(() => String, { description: 'The first characters of the key, to tell keys apart.' })
  @Column({ type: 'varchar', length: 16 })
  prefix!: string;

  /** SHA-256 of the whole key, hex. Keys are long random strings, so a fast hash is enough. */
  @Index('api_key_hash_unique', { unique: true })
  @Column({ type: 'varchar', length: 64 })
  hash!: string;

  @Field(() => String)
  @Column({ type: 'varchar', length: 200 })
  createdBy!: string;

  @Field(() => Date)
  @Column({ type: Date })
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  @Column({ type: Date, nullable: true })
  expiresAt!: Date | null;

  @Field(() => Date, { nullable: true })
  @Column({ type: Date, nullable: true })
  revokedAt!: Date | null;

  @Field(() => String, { nullable: true })
  @Column({ type: 'varchar', length: 200, nullable: true })
  revokedBy!: string | null;

  @Field(() => Date, { nullable: true, description: 'When the key was last used (updated at most once a minute).' })
  @Column({ type: Date, nullable: true })
  lastUsedAt!: Date | null;

  @Field(() => ApiKeyStatus)
  get status(): ApiKeyStatus {
    if (this.revokedAt) return ApiKeyStatus.REVOKED;
    if (this.expiresAt && this.expiresAt.getTime() <= Date.now()) return ApiKeyStatus.EXPIRED;
    return ApiKeyStatus.ACTIVE;
  }
}
