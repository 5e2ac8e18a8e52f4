// Inputs of the job mutations and queries, and the rules they must follow.
import { Field, ID, InputType, Int } from 'type-graphql';
import { UserErrorCode } from '../../../common/graphql/types';
import type { InputCheck } from '../../../common/validation';
import { JobRuntime } from './job.entity';
import { JobState } from './job-state';

export const JOB_LIMITS = {
  priority: { min: 0, max: 1000, default: 50 },
  maxAttempts: { min: 1, max: 20, default: 3 },
  backoffSeconds: { min: 0, max: 3_600, default: 10 },
  maxBackoffSeconds: { min: 0, max: 86_400, default: 600 },
  timeoutSeconds: { min: 1, max: 7 * 24 * 3_600 },
  env: 200,
  args: 256,
};
export const DEFAULT_JOB_RESOURCES = { cpuMillicores: 1000, memoryMiB: 1024, gpuCount: 0, gpuMemoryMiB: 0 };
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const LABEL_KEY = /^[a-z0-9]([a-z0-9._/-]{0,61}[a-z0-9])?$/;
const LABEL_VALUE = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
const IMAGE = /^[a-zA-Z0-9][a-zA-Z0-9._/:@-]{0,511}$/;

@InputType({ description: 'A registry model version, by model name and one of version or alias.' })
export class ModelVersionRefInput {
  @Field(() => String)
  model!: string;

  @Field(() => String, { nullable: true })
  version?: string | null;

  @Field(() => String, { nullable: true, description: 'For example `champion`, or `latest`.' })
  alias?: string | null;
}

@InputType()
export class EnvVarInput {
  @Field(() => String)
  name!: string;

  @Field(() => String)
  value!: string;
}

@InputType()
export class LabelInput {
  @Field(() => String)
  key!: string;

  @Field(() => String)
  value!: string;
}

@InputType({ description: 'Overrides the model version\'s default resources, field by field.' })
export class JobResourcesInput {
  @Field(() => Int, { nullable: true })
  cpuMillicores?: number | null;

  @Field(() => Int, { nullable: true })
  memoryMiB?: number | null;

  @Field(() => Int, { nullable: true })
  gpuCount?: number | null;

  @Field(() => Int, { nullable: true, description: 'The least memory each GPU must have.' })
  gpuMemoryMiB?: number | null;
}

@InputType()
export class RetryPolicyInput {
  @Field(() => Int, { nullable: true, description: `Attempts in all, from 1 to ${JOB_LIMITS.maxAttempts.max} (default ${JOB_LIMITS.maxAttempts.default}).` })
  maxAttempts?: number | null;

  @Field(() => Int, { nullable: true, description: `Wait after the first failure (default ${JOB_LIMITS.backoffSeconds.default}); doubles each time, with jitter.` })
  backoffSeconds?: number | null;

  @Field(() => Int, { nullable: true, description: `Longest wait (default ${JOB_LIMITS.maxBackoffSeconds.default}).` })
  maxBackoffSeconds?: number | null;
}

@InputType({ description: 'What to run: a model version from the registry, an image, or a command. Everything else is optional.' })
export class SubmitJobInput {
  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => ModelVersionRefInput, { nullable: true, description: 'Runs this version\'s artifact with its default resources.' })
  modelVersion?: ModelVersionRefInput | null;

  @Field(() => String, { nullable: true, description: 'A container image (docker runtime).' })
  image?: string | null;

  @Field(() => [String], { nullable: true, description: 'A program and its arguments (process runtime), or the command for the image.' })
  command?: string[] | null;

  @Field(() => [String], { nullable: true, description: 'Arguments added after the command.' })
  args?: string[] | null;

  @Field(() => [EnvVarInput], { nullable: true })
  env?: EnvVarInput[] | null;

  @Field(() => String, { nullable: true })
  inputRef?: string | null;

  @Field(() => JobResourcesInput, { nullable: true })
  resources?: JobResourcesInput | null;

  @Field(() => [LabelInput], { nullable: true, description: 'Labels a node must carry to run it.' })
  nodeSelector?: LabelInput[] | null;

  @Field(() => Int, { nullable: true, description: `From ${JOB_LIMITS.priority.min} to ${JOB_LIMITS.priority.max} (default ${JOB_LIMITS.priority.default}).` })
  priority?: number | null;

  @Field(() => RetryPolicyInput, { nullable: true })
  retry?: RetryPolicyInput | null;

  @Field(() => Int, { nullable: true })
  timeoutSeconds?: number | null;

  @Field(() => JobRuntime, { nullable: true, description: 'Chosen from the artifact when left out: DOCKER for an image, PROCESS for a command alone.' })
  runtime?: JobRuntime | null;

  @Field(() => String, { nullable: true, description: 'Submitting again with the same key returns the same job, never a second one.' })
  idempotencyKey?: string | null;
}

@InputType()
export class CancelJobInput {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true })
  reason?: string | null;
}

@InputType()
export class RetryJobInput {
  @Field(() => ID)
  id!: string;
}

@InputType({ description: 'Filters for the jobs list; all given filters must match.' })
export class JobFilter {
  @Field(() => [JobState], { nullable: true })
  states?: JobState[] | null;

  @Field(() => ID, { nullable: true, description: 'Jobs of this registry model version.' })
  modelVersionId?: string | null;

  @Field(() => String, { nullable: true, description: 'Jobs of any version of this model, by name.' })
  model?: string | null;

  @Field(() => String, { nullable: true, description: 'Jobs running on this node, by name or id.' })
  node?: string | null;
}

export function checkSubmission(check: InputCheck, input: SubmitJobInput): void {
  check.text('name', input.name, 100);
  const given = [input.modelVersion, input.image, input.command].filter((value) => value != null).length;
  if (input.modelVersion && (input.image != null || input.command != null)) {
    check.fail('modelVersion', 'give a model version, or an image and/or a command, not both');
  } else if (given === 0) {
    check.fail('command', 'say what to run: a modelVersion, an image, or a command', UserErrorCode.REQUIRED);
  }
  if (input.modelVersion && (input.modelVersion.version == null) === (input.modelVersion.alias == null)) {
    check.fail('modelVersion', 'give exactly one of version and alias');
  }
  if (input.image != null && !IMAGE.test(input.image)) check.fail('image', `"${input.image.slice(0, 100)}" is not a container image reference`);
  checkStrings(check, 'command', input.command, JOB_LIMITS.args, true);
  checkStrings(check, 'args', input.args, JOB_LIMITS.args, false);
  if (input.env) {
    if (input.env.length > JOB_LIMITS.env) check.fail('env', `at most ${JOB_LIMITS.env} variables`);
    const seen = new Set<string>();
    input.env.forEach((variable, index) => {
      if (!ENV_NAME.test(variable.name)) check.fail(`env.${index}.name`, `"${variable.name.slice(0, 100)}" is not an environment variable name (letters, digits, _; not starting with a digit)`);
      else if (seen.has(variable.name)) check.fail(`env.${index}.name`, `${variable.name} is given twice`);
      else if (variable.name.startsWith('TOUCHLINE_') && !variable.name.startsWith('TOUCHLINE_SIMULATED_')) {
        check.fail(`env.${index}.name`, 'names starting with TOUCHLINE_ are set by Touchline');
      }
      if (variable.value.length > 32_768 || variable.value.includes('\0')) check.fail(`env.${index}.value`, 'must be at most 32768 characters, without NUL');
      seen.add(variable.name);
    });
  }
  check.text('inputRef', input.inputRef, 1000);
  const resources = input.resources;
  if (resources) {
    check.integer('resources.cpuMillicores', resources.cpuMillicores, 1, 1_024_000);
    check.integer('resources.memoryMiB', resources.memoryMiB, 1, 16 * 1024 * 1024);
    check.integer('resources.gpuCount', resources.gpuCount, 0, 64);
    check.integer('resources.gpuMemoryMiB', resources.gpuMemoryMiB, 0, 1024 * 1024);
  }
  input.nodeSelector?.forEach((label, index) => {
    if (!LABEL_KEY.test(label.key)) check.fail(`nodeSelector.${index}.key`, `"${label.key.slice(0, 100)}" is not a label key`);
    if (!LABEL_VALUE.test(label.value)) check.fail(`nodeSelector.${index}.value`, `"${label.value.slice(0, 100)}" is not a label value`);
  });
  check.integer('priority', input.priority, JOB_LIMITS.priority.min, JOB_LIMITS.priority.max);
  check.integer('retry.maxAttempts', input.retry?.maxAttempts, JOB_LIMITS.maxAttempts.min, JOB_LIMITS.maxAttempts.max);
  check.integer('retry.backoffSeconds', input.retry?.backoffSeconds, JOB_LIMITS.backoffSeconds.min, JOB_LIMITS.backoffSeconds.max);
  check.integer('retry.maxBackoffSeconds', input.retry?.maxBackoffSeconds, JOB_LIMITS.maxBackoffSeconds.min, JOB_LIMITS.maxBackoffSeconds.max);
  check.integer('timeoutSeconds', input.timeoutSeconds, JOB_LIMITS.timeoutSeconds.min, JOB_LIMITS.timeoutSeconds.max);
  check.text('idempotencyKey', input.idempotencyKey, 200);
  if (input.runtime === JobRuntime.DOCKER && input.image == null && !input.modelVersion) check.fail('runtime', 'the docker runtime needs an image');
  if (input.runtime === JobRuntime.PROCESS && input.image != null && input.command == null) check.fail('runtime', 'the process runtime needs a command');
}

function checkStrings(check: InputCheck, field: string, values: string[] | null | undefined, max: number, needsProgram: boolean): void {
  if (!values) return;
  if (values.length > max) check.fail(field, `at most ${max} entries`);
  if (needsProgram && (values.length === 0 || values[0]!.trim() === '')) check.fail(field, 'the program to run must not be empty');
  values.forEach((value, index) => {
    if (value.length > 8192 || value.includes('\0')) check.fail(`${field}.${index}`, 'must be at most 8192 characters, without NUL');
  });
}

/** Labels as a map; a label key must be unique. */
export function labelMap(labels: LabelInput[] | null | undefined): Record<string, string> {
  return Object.fromEntries((labels ?? []).map((label) => [label.key, label.value]));
}

