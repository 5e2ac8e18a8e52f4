// The scheduler's one question to the registry: what a model version runs, and with what default resources.
// A job copies the answer when it is submitted, so moving an alias later does not change a job already queued.
import type { Identity } from '../../../common/auth/identity';
import { signedGraphQL, signingFetch, type SignedFetch } from '../../../common/http/signed-fetch';

export interface VersionArtifact {
  id: string;
  model: string;
  version: string;
  image: string | null;
  command: string[] | null;
  resources: { cpuMillicores: number; memoryMiB: number; gpuCount: number; gpuMemoryMiB: number };
}

const QUERY = `query($model: String!, $version: String, $alias: String) {
  modelVersion(model: $model, version: $version, alias: $alias) {
    id version artifact { image command } resources { cpuMillicores memoryMiB gpuCount gpuMemoryMiB } model { name }
  }
}`;

export class RegistryClient {
  private readonly fetchSigned: SignedFetch;

  constructor(
    private readonly url: string,
    secret: string,
  ) {
    this.fetchSigned = signingFetch(secret);
  }

  /** The version, or undefined when the model or the version (or alias) does not exist. */
  async findVersion(model: string, pick: { version?: string | null; alias?: string | null }, caller: Identity): Promise<VersionArtifact | undefined> {
    const data = await signedGraphQL<{ modelVersion: RegistryVersion | null }>(this.fetchSigned, this.url, caller, QUERY, {
      model,
      version: pick.version ?? null,
      alias: pick.alias ?? null,
    });
    const found = data.modelVersion;
    if (!found) return undefined;
    return {
      id: found.id,
      model: found.model.name,
      version: found.version,
      image: found.artifact.image,
      command: found.artifact.command,
      resources: found.resources,
    };
  }
}

interface RegistryVersion {
  id: string;
  version: string;
  artifact: { image: string | null; command: string[] | null };
  resources: VersionArtifact['resources'];
  model: { name: string };
}
