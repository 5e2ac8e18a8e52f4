// What the scheduler answers node agents.
import { Field, ID, Int, ObjectType } from 'type-graphql';
import { Payload } from '../../../common/graphql/types';
import { EnvVar, JobRuntime } from '../job/job.entity';
import { Node } from '../node/node.entity';

@ObjectType({ description: 'An attempt a node must run: everything its runtime needs.' })
export class Assignment {
  @Field(() => ID)
  attemptId!: string;

  @Field(() => ID)
  jobId!: string;

  @Field(() => Int)
  attemptNumber!: number;

  @Field(() => String, { description: 'The fencing token to send with every report about this attempt.' })
  token!: string;

  @Field(() => JobRuntime)
  runtime!: JobRuntime;

  @Field(() => String, { nullable: true })
  image!: string | null;

  @Field(() => [String], { nullable: true })
  command!: string[] | null;

  @Field(() => [String])
  args!: string[];

  @Field(() => [EnvVar])
  env!: EnvVar[];

  @Field(() => Int)
  cpuMillicores!: number;

  @Field(() => Int)
  memoryMiB!: number;

  @Field(() => [Int])
  gpuIndices!: number[];

  @Field(() => Int, { nullable: true })
  timeoutSeconds!: number | null;
}

@ObjectType({ description: 'An attempt a node must stop, and why.' })
export class StopOrder {
  @Field(() => ID)
  attemptId!: string;

  @Field(() => String)
  reason!: string;
}

@ObjectType()
export class RegisterNodePayload extends Payload {
  @Field(() => Node, { nullable: true })
  node?: Node;

  @Field(() => String, { nullable: true, description: 'The node\'s own credential: it acts as this node, and as nothing else.' })
  credential?: string;
}

@ObjectType()
export class NodeHeartbeatPayload extends Payload {
  @Field(() => Node, { nullable: true })
  node?: Node;

  @Field(() => [Assignment], { description: 'Every attempt the node must be running: start those it is not.' })
  assignments: Assignment[] = [];

  @Field(() => [StopOrder], { description: 'Attempts it reported that it must stop.' })
  stop: StopOrder[] = [];

  @Field(() => Int, { description: 'When to send the next heartbeat.' })
  heartbeatIntervalSeconds = 2;
}

@ObjectType()
export class ReportAttemptPayload extends Payload {
  @Field(() => Boolean, { description: 'False for a report about an attempt this node no longer holds (a stale token).' })
  accepted = false;

  @Field(() => Boolean, { description: 'True when the node must stop the attempt at once.' })
  stop = false;
}

@ObjectType()
export class AppendJobLogsPayload extends Payload {
  @Field(() => Boolean)
  accepted = false;
}
