// Who is calling: the identity the gateway verified, and the roles that decide what it may do.

/** People and scripts, each role able to do all the ones before it. */
export const HUMAN_ROLES = ['viewer', 'operator', 'admin'] as const;
/** Node agents: `enroll` (a join token, good for registering a node) and `node` (a node's own credential). */
export const AGENT_ROLES = ['enroll', 'node'] as const;
export const ROLES = [...HUMAN_ROLES, ...AGENT_ROLES] as const;
export type Role = (typeof ROLES)[number];

/** viewer: queries and subscriptions; operator: also mutations on models, jobs, deployments; admin: also keys. */
const RANK: Record<(typeof HUMAN_ROLES)[number], number> = { viewer: 1, operator: 2, admin: 3 };

export interface Identity {
  /**
   * `apiKey` for people and scripts, `node` for a node agent (its id is the node's), `joinToken` for an agent
   * enrolling, `service` for Touchline's own calls between services.
   */
  kind: 'apiKey' | 'service' | 'node' | 'joinToken';
  /** The API key's id, the node's id, the join token's id, or the service's name. */
  id: string;
  /** A human-readable name for logs and the audit log. */
  name: string;
  role: Role;
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Human roles rank (an admin may do what a viewer may); an agent role grants exactly its own operations. */
export function hasRole(identity: Identity, required: Role): boolean {
  if (required === 'enroll' || required === 'node') return identity.role === required;
  return identity.role in RANK && RANK[identity.role as keyof typeof RANK] >= RANK[required];
}

/** The identity the gateway uses for its own calls (composition, health checks). */
export function serviceIdentity(name: string): Identity {
  return { kind: 'service', id: name, name, role: 'viewer' };
}
