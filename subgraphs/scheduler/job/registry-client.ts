// The scheduler's one question to the registry: what a model version runs, and with what default resources.
// A job copies the answer when it is submitted, so moving an alias later does not change a job already queued.
// A version's artifact and resources never change once registered, so answers by exact version are kept (a bounded
// number of them): submissions of a known version then cost no call to the registry inside their transaction.
// Aliases move, so they are asked every time.
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

/** Versions kept by exact name, the least recently used dropped first. */
const MAX_KEPT_VERSIONS = 1_000;

export class RegistryClient {
  private readonly fetchSigned: SignedFetch;
  private readonly versions = new Map<string, VersionArtifact>();

  constructor(
    private readonly url: string,
    secret: string,
  ) {
    this.fetchSigned = signingFetch(secret);
  }

  /** The version, or undefined when the model or the version (or alias) does not exist. */
  async findVersion(model: string, pick: { version?: string | null; alias?: string | null }, caller: Identity): Promise<VersionArtifact | undefined> {
    const key = pick.version != null && pick.alias == null ? JSON.stringify([model, pick.version]) : undefined;
    const kept = key === undefined ? undefined : this.versions.get(key);
    if (key !== undefined && kept) {
      this.versions.delete(key);
      this.versions.set(key, kept); // most recently used last
      return kept;
    }
    const found = await this.ask(model, pick, caller);
    if (key !== undefined && found) {
      this.versions.set(key, found);
      if (this.versions.size > MAX_KEPT_VERSIONS) this.versions.delete(this.versions.keys().next().value!);
    }
    return found;
  }

  private async ask(model: string, pick: { version?: string | null; alias?: string | null }, caller: Identity): Promise<VersionArtifact | undefined> {
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
