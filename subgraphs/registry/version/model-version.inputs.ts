// Inputs of the version mutations and queries, and the rules they must follow.
import { Field, Float, InputType, Int } from 'type-graphql';
import { JSONScalar } from '../../../common/graphql/types';
import { InputCheck } from '../../../common/validation';
import { ModelStage } from './model-version.entity';

export const DEFAULT_RESOURCES = { cpuMillicores: 1000, memoryMiB: 1024, gpuCount: 0, gpuMemoryMiB: 0 };
export const JSON_LIMIT = { maxBytes: 64 * 1024, maxDepth: 32 };
const MAX_METRICS = 200;
const METRIC_NAME = /^[A-Za-z_][A-Za-z0-9_.:/-]{0,99}$/;
// A container image reference: [registry[:port]/]path[:tag][@digest], as Docker's reference grammar allows.
const IMAGE =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::\d{1,5})?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

@InputType({ description: `Defaults: ${DEFAULT_RESOURCES.cpuMillicores} millicores, ${DEFAULT_RESOURCES.memoryMiB} MiB, no GPU.` })
export class ResourceRequestsInput {
  @Field(() => Int, { nullable: true })
  cpuMillicores?: number | null;

  @Field(() => Int, { nullable: true })
  memoryMiB?: number | null;

  @Field(() => Int, { nullable: true })
  gpuCount?: number | null;

  @Field(() => Int, { nullable: true })
  gpuMemoryMiB?: number | null;
}

@InputType()
export class TrainingMetricInput {
  @Field(() => String)
  name!: string;

  @Field(() => Float)
  value!: number;
}

@InputType()
export class ModelLineageInput {
  @Field(() => String, { nullable: true })
  sourceJobId?: string | null;

  @Field(() => String, { nullable: true })
  sourceRunId?: string | null;

  @Field(() => String, { nullable: true })
  datasetRef?: string | null;
}

@InputType({ description: 'Only `model` and `version` are required.' })
export class RegisterModelVersionInput {
  @Field(() => String, { description: 'The model, by name.' })
  model!: string;

  @Field(() => String, { description: 'A semantic version unique within the model, for example `1.2.0` or `2.0.0-rc.1`.' })
  version!: string;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => String, { nullable: true, description: 'Container image reference.' })
  image?: string | null;

  @Field(() => [String], { nullable: true, description: 'Command and arguments (process runtime, or to override the image).' })
  command?: string[] | null;

  @Field(() => String, { nullable: true })
  framework?: string | null;

  @Field(() => ResourceRequestsInput, { nullable: true })
  resources?: ResourceRequestsInput | null;

  @Field(() => JSONScalar, { nullable: true })
  inputSchema?: unknown;

  @Field(() => JSONScalar, { nullable: true })
  outputSchema?: unknown;

  @Field(() => JSONScalar, { nullable: true, description: 'A JSON object of at most 64 KiB.' })
  metadata?: unknown;

  @Field(() => [TrainingMetricInput], { nullable: true })
  trainingMetrics?: TrainingMetricInput[] | null;

  @Field(() => ModelLineageInput, { nullable: true })
  lineage?: ModelLineageInput | null;
}

@InputType({ description: 'Changes what may change after registration; the artifact and resources never do.' })
export class UpdateModelVersionInput {
  @Field(() => String)
  model!: string;

  @Field(() => String)
  version!: string;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => JSONScalar, { nullable: true, description: 'Replaces the metadata.' })
  metadata?: unknown;

  @Field(() => [TrainingMetricInput], { nullable: true, description: 'Added to the metrics; a metric of the same name is replaced.' })
  trainingMetrics?: TrainingMetricInput[] | null;
}

@InputType()
export class TransitionModelVersionStageInput {
  @Field(() => String)
  model!: string;

  @Field(() => String)
  version!: string;

  @Field(() => ModelStage, { description: 'Moving a version to PRODUCTION moves the one there before to ARCHIVED.' })
  stage!: ModelStage;

  @Field(() => String, { nullable: true })
  reason?: string | null;
}

@InputType({ description: 'Filters for the versions list; all given filters must match.' })
export class ModelVersionFilter {
  @Field(() => String, { nullable: true, description: 'The model, by name.' })
  model?: string | null;

  @Field(() => ModelStage, { nullable: true })
  stage?: ModelStage | null;

  @Field(() => String, { nullable: true })
  framework?: string | null;
}

export function checkArtifact(check: InputCheck, input: RegisterModelVersionInput): void {
  if (input.image !== undefined && input.image !== null) {
    if (input.image.length > 512 || !IMAGE.test(input.image)) {
      check.fail('image', `"${input.image.slice(0, 100)}" is not a container image reference such as "registry.local/xg:1.2.0"`);
    }
  }
  if (input.command) {
    if (input.command.length === 0 || input.command.length > 256) check.fail('command', 'must have from 1 to 256 entries');
    else if (input.command[0]!.trim() === '') check.fail('command.0', 'the program to run must not be empty');
    input.command.forEach((part, index) => {
      if (part.length > 8192 || part.includes('\0')) check.fail(`command.${index}`, 'must be at most 8192 characters, without NUL');
    });
  }
  check.text('framework', input.framework, 100);
}

export function checkResources(check: InputCheck, resources: ResourceRequestsInput | null | undefined): void {
  if (!resources) return;
  check.integer('resources.cpuMillicores', resources.cpuMillicores, 1, 1_024_000);
  check.integer('resources.memoryMiB', resources.memoryMiB, 1, 16 * 1024 * 1024);
  check.integer('resources.gpuCount', resources.gpuCount, 0, 64);
  check.integer('resources.gpuMemoryMiB', resources.gpuMemoryMiB, 0, 1024 * 1024);
  if ((resources.gpuMemoryMiB ?? 0) > 0 && (resources.gpuCount ?? 0) === 0) {
    check.fail('resources.gpuMemoryMiB', 'asks for GPU memory without any GPU: set gpuCount too');
  }
}

export function checkMetrics(check: InputCheck, metrics: TrainingMetricInput[] | null | undefined): void {
  if (!metrics) return;
  if (metrics.length > MAX_METRICS) check.fail('trainingMetrics', `at most ${MAX_METRICS} metrics (got ${metrics.length})`);
  const seen = new Set<string>();
  metrics.forEach((metric, index) => {
    if (!METRIC_NAME.test(metric.name)) {
      check.fail(`trainingMetrics.${index}.name`, `"${metric.name.slice(0, 100)}" is not a metric name such as "log_loss" or "brier"`);
    } else if (seen.has(metric.name)) {
      check.fail(`trainingMetrics.${index}.name`, `"${metric.name}" is given twice`);
    }
    if (!Number.isFinite(metric.value)) check.fail(`trainingMetrics.${index}.value`, 'must be a finite number');
    seen.add(metric.name);
  });
}

export function checkLineage(check: InputCheck, lineage: ModelLineageInput | null | undefined): void {
  if (!lineage) return;
  check.text('lineage.sourceJobId', lineage.sourceJobId, 200);
  check.text('lineage.sourceRunId', lineage.sourceRunId, 200);
  check.text('lineage.datasetRef', lineage.datasetRef, 500);
}
