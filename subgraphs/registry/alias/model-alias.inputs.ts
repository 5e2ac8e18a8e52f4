// Inputs of the alias and rollback mutations.
import { Field, ID, InputType } from 'type-graphql';
import { InputCheck } from '../../../common/validation';

/** Resolved by the registry itself, never stored: the highest version by semver precedence. */
export const LATEST_ALIAS = 'latest';
const ALIAS = /^[a-z][a-z0-9-]{0,62}$/;

@InputType({ description: 'Points an alias at a version, creating or moving it. Give `version` or `versionId`.' })
export class SetModelAliasInput {
  @Field(() => String)
  model!: string;

  @Field(() => String, { description: 'For example `champion` or `challenger`.' })
  alias!: string;

  @Field(() => String, { nullable: true, description: 'The version, as its semantic version.' })
  version?: string | null;

  @Field(() => ID, { nullable: true, description: 'The version, by id.' })
  versionId?: string | null;

  @Field(() => String, { nullable: true })
  reason?: string | null;
}

@InputType()
export class DeleteModelAliasInput {
  @Field(() => String)
  model!: string;

  @Field(() => String)
  alias!: string;

  @Field(() => String, { nullable: true })
  reason?: string | null;
}

@InputType({ description: 'Moves an alias, or the production stage when no alias is given, back to where it was before.' })
export class RollbackModelInput {
  @Field(() => String)
  model!: string;

  @Field(() => String, { nullable: true, description: 'The alias to roll back; without it, the production stage.' })
  alias?: string | null;

  @Field(() => String, { nullable: true })
  reason?: string | null;
}

export function checkAliasName(check: InputCheck, alias: string): void {
  if (alias === LATEST_ALIAS) check.fail('alias', '"latest" is reserved: it always means the highest version');
  else if (!ALIAS.test(alias)) {
    check.fail('alias', `"${alias.slice(0, 100)}" is not a valid alias: start with a lowercase letter; then letters, digits, hyphens; at most 63`);
  }
}
