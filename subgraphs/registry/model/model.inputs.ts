// Inputs of the model mutations and queries, and the rules they must follow.
import { Field, InputType } from 'type-graphql';
import { InputCheck } from '../../../common/validation';
import { ModelTask } from './model.entity';

export const MODEL_NAME_MAX = 63;
export const MAX_TAGS = 20;
const TAG = /^[a-z0-9][a-z0-9._-]*$/;

@InputType({ description: 'Only `name` is required.' })
export class CreateModelInput {
  @Field(() => String, { description: 'Unique lowercase slug (letters, digits, inner hyphens; at most 63).' })
  name!: string;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => String, { nullable: true, description: 'Lowercase slug, for example `football`.' })
  sport?: string | null;

  @Field(() => ModelTask, { nullable: true })
  task?: ModelTask | null;

  @Field(() => String, { nullable: true })
  owner?: string | null;

  @Field(() => [String], { nullable: true, description: `At most ${MAX_TAGS} lowercase tags.` })
  tags?: string[] | null;
}

@InputType({ description: 'Changes the given fields of a model; a field left out stays as it is, and null clears it.' })
export class UpdateModelInput {
  @Field(() => String, { description: 'The model to change, by name.' })
  name!: string;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => String, { nullable: true })
  sport?: string | null;

  @Field(() => ModelTask, { nullable: true })
  task?: ModelTask | null;

  @Field(() => String, { nullable: true })
  owner?: string | null;

  @Field(() => [String], { nullable: true, description: 'Replaces all tags.' })
  tags?: string[] | null;
}

@InputType({ description: 'Filters for the models list; all given filters must match.' })
export class ModelFilter {
  @Field(() => String, { nullable: true })
  namePrefix?: string | null;

  @Field(() => String, { nullable: true })
  sport?: string | null;

  @Field(() => String, { nullable: true })
  tag?: string | null;

  @Field(() => ModelTask, { nullable: true })
  task?: ModelTask | null;

  @Field(() => String, { nullable: true })
  owner?: string | null;
}

/** Checks the descriptive fields shared by create and update. */
export function checkModelFields(check: InputCheck, input: Omit<UpdateModelInput, 'name'>): void {
  check.text('description', input.description, 10_000);
  check.slug('sport', input.sport, 50);
  check.text('owner', input.owner, 200);
  if (input.tags) {
    if (input.tags.length > MAX_TAGS) check.fail('tags', `at most ${MAX_TAGS} tags (got ${input.tags.length})`);
    input.tags.forEach((tag, index) => {
      if (tag.length === 0 || tag.length > 50 || !TAG.test(tag)) {
        check.fail(`tags.${index}`, `"${tag}" is not a valid tag: lowercase letters, digits, ".", "_" and "-", at most 50`);
      }
    });
  }
}
