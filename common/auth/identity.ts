// Who is calling: the identity the gateway verified, and the roles that decide what it may do.

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** viewer: queries and subscriptions; operator: also mutations on models, jobs, deployments; admin: also keys. */
const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

export interface Identity {
  /** `apiKey` for people and scripts, `service` for Touchline's own calls between services. */
  kind: 'apiKey' | 'service';
  /** The API key's id (or the service's name). */
  id: string;
  /** A human-readable name for logs and the audit log. */
  name: string;
  role: Role;
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export function hasRole(identity: Identity, required: Role): boolean {
  return RANK[identity.role] >= RANK[required];
}

/** The identity the gateway uses for its own calls (composition, health checks). */
export function serviceIdentity(name: string): Identity {
  return { kind: 'service', id: name, name, role: 'viewer' };
}
