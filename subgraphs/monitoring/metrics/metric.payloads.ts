// What reportMetrics answers: how many samples were kept, and each refused one with why.
import { Field, Int, ObjectType } from 'type-graphql';
import { Payload } from '../../../common/graphql/types';

@ObjectType({ description: 'A sample that was not stored; the others of its report were.' })
export class RejectedSample {
  @Field(() => Int, { description: 'Its position in `input.samples`, from 0.' })
  index!: number;

  @Field(() => String, { description: 'The field at fault within the sample, for example `value` or `labels.model`.' })
  field!: string;

  @Field(() => String)
  reason!: string;
}

@ObjectType()
export class ReportMetricsPayload extends Payload {
  @Field(() => Int, { description: 'How many samples were stored.' })
  accepted = 0;

  @Field(() => [RejectedSample], { description: 'The samples that were not stored, and why.' })
  rejected: RejectedSample[] = [];
}
