// What node agents send: their registration, heartbeats, attempt reports and job logs. Everything is checked:
// an agent is a program on someone's machine, not a trusted part of the scheduler.
import { Field, ID, InputType, Int, registerEnumType } from 'type-graphql';
import type { InputCheck } from '../../../common/validation';
import { LogStream } from '../job/job.entity';
import { LabelInput } from '../job/job.inputs';

export const KNOWN_RUNTIMES = ['docker', 'process', 'simulated'] as const;
export const MAX_LOG_LINES_PER_CALL = 1_000;
export const MAX_LOG_LINE_CHARS = 16 * 1024;

@InputType()
export class GpuInput {
  @Field(() => Int)
  index!: number;

  @Field(() => String, { nullable: true })
  model?: string | null;

  @Field(() => Int)
  memoryMiB!: number;
}

@InputType()
export class NodeResourcesInput {
  @Field(() => Int)
  cpuMillicores!: number;

  @Field(() => Int)
  memoryMiB!: number;

  @Field(() => [GpuInput], { nullable: true })
  gpus?: GpuInput[] | null;
}

@InputType()
export class NodeAllocatableInput {
  @Field(() => Int)
  cpuMillicores!: number;

  @Field(() => Int)
  memoryMiB!: number;
}

@InputType({ description: 'What a node agent tells the scheduler when it enrolls with a join token.' })
export class RegisterNodeInput {
  @Field(() => String, { description: 'Unique among nodes: lowercase letters, digits, inner hyphens.' })
  name!: string;

  @Field(() => [LabelInput], { nullable: true })
  labels?: LabelInput[] | null;

  @Field(() => NodeResourcesInput)
  capacity!: NodeResourcesInput;

  @Field(() => NodeAllocatableInput, { nullable: true, description: 'What jobs may use; the whole capacity when left out.' })
  allocatable?: NodeAllocatableInput | null;

  @Field(() => [String])
  runtimes!: string[];

  @Field(() => String)
  agentVersion!: string;
}

export enum ReportedAttemptState {
  STARTING = 'STARTING',
  RUNNING = 'RUNNING',
}
registerEnumType(ReportedAttemptState, { name: 'ReportedAttemptState' });

@InputType({ description: 'An attempt the agent is running now.' })
export class RunningAttemptInput {
  @Field(() => ID)
  attemptId!: string;

  @Field(() => ReportedAttemptState)
  state!: ReportedAttemptState;
}

@InputType()
export class NodeHeartbeatInput {
  @Field(() => [RunningAttemptInput], { description: 'Every attempt running on the node now: the scheduler answers what to keep.' })
  running!: RunningAttemptInput[];

  @Field(() => NodeResourcesInput, { nullable: true, description: 'The node\'s capacity, when it changed.' })
  capacity?: NodeResourcesInput | null;

  @Field(() => NodeAllocatableInput, { nullable: true })
  allocatable?: NodeAllocatableInput | null;
}

export enum AttemptEventKind {
  STARTING = 'STARTING',
  RUNNING = 'RUNNING',
  EXITED = 'EXITED',
}
registerEnumType(AttemptEventKind, { name: 'AttemptEventKind' });

export enum ExitReason {
  EXITED = 'EXITED',
  TIMEOUT = 'TIMEOUT',
  OOM_KILLED = 'OOM_KILLED',
  STOPPED = 'STOPPED',
  IMAGE_MISSING = 'IMAGE_MISSING',
  START_FAILED = 'START_FAILED',
}
registerEnumType(ExitReason, { name: 'ExitReason' });

@InputType()
export class ReportAttemptInput {
  @Field(() => ID)
  attemptId!: string;

  @Field(() => String, { description: 'The attempt\'s fencing token, from its assignment.' })
  token!: string;

  @Field(() => AttemptEventKind)
  event!: AttemptEventKind;

  @Field(() => Int, { nullable: true })
  exitCode?: number | null;

  @Field(() => ExitReason, { nullable: true, description: 'With EXITED: how it ended.' })
  reason?: ExitReason | null;

  @Field(() => String, { nullable: true })
  message?: string | null;
}

@InputType()
export class LogLineInput {
  @Field(() => LogStream)
  stream!: LogStream;

  @Field(() => String)
  text!: string;

  @Field(() => Date)
  at!: Date;
}

@InputType()
export class AppendJobLogsInput {
  @Field(() => ID)
  attemptId!: string;

  @Field(() => String)
  token!: string;

  @Field(() => [LogLineInput])
  lines!: LogLineInput[];
}

export function checkNodeResources(check: InputCheck, field: string, resources: NodeResourcesInput | null | undefined): void {
  if (!resources) return;
  check.integer(`${field}.cpuMillicores`, resources.cpuMillicores, 1, 100_000_000);
  check.integer(`${field}.memoryMiB`, resources.memoryMiB, 1, 1_000_000_000);
  const gpus = resources.gpus ?? [];
  if (gpus.length > 64) check.fail(`${field}.gpus`, 'at most 64 GPUs');
  const indices = new Set<number>();
  gpus.forEach((gpu, position) => {
    check.integer(`${field}.gpus.${position}.index`, gpu.index, 0, 1_023);
    check.integer(`${field}.gpus.${position}.memoryMiB`, gpu.memoryMiB, 1, 10_000_000);
    check.text(`${field}.gpus.${position}.model`, gpu.model, 200);
    if (indices.has(gpu.index)) check.fail(`${field}.gpus.${position}.index`, `GPU ${gpu.index} is listed twice`);
    indices.add(gpu.index);
  });
}

export function checkRegistration(check: InputCheck, input: RegisterNodeInput): void {
  check.slug('name', input.name, 63);
  checkNodeResources(check, 'capacity', input.capacity);
  if (input.allocatable) {
    check.integer('allocatable.cpuMillicores', input.allocatable.cpuMillicores, 1, input.capacity.cpuMillicores);
    check.integer('allocatable.memoryMiB', input.allocatable.memoryMiB, 1, input.capacity.memoryMiB);
  }
  if (input.runtimes.length === 0) check.fail('runtimes', 'a node must offer at least one runtime');
  input.runtimes.forEach((runtime, index) => {
    if (!(KNOWN_RUNTIMES as readonly string[]).includes(runtime)) check.fail(`runtimes.${index}`, `unknown runtime "${runtime.slice(0, 50)}" (known: ${KNOWN_RUNTIMES.join(', ')})`);
  });
  check.text('agentVersion', input.agentVersion, 50, { required: true });
  if ((input.labels ?? []).length > 64) check.fail('labels', 'at most 64 labels');
}
