// Resource requests: the shape shared by a model version's defaults (registry) and a job's (scheduler).
import { Directive, Field, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'CPU, memory and GPUs a job asks for.' })
@Directive('@shareable')
export class ResourceRequests {
  @Field(() => Int, { description: 'CPU in thousandths of a core (1000 = one core).' })
  cpuMillicores!: number;

  @Field(() => Int)
  memoryMiB!: number;

  @Field(() => Int)
  gpuCount!: number;

  @Field(() => Int, { description: 'Minimum memory of each GPU, in MiB.' })
  gpuMemoryMiB!: number;
}
