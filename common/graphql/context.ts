// What every resolver of every service receives.
import type { EntityManager } from 'typeorm';
import type { Identity } from '../auth/identity';
import type { Database } from '../db/database';
import type { Logger } from '../logger';

export interface ServiceContext {
  /** The service answering: gateway, registry, scheduler or monitoring. */
  service: string;
  identity: Identity;
  requestId: string;
  logger: Logger;
  db: Database;
  /** The entity manager for this operation: a mutation's own transaction, or the plain manager for a query. */
  em: EntityManager;
  /** Called after each mutation commits: to forget what loaders cached, or to wake a background loop. */
  afterCommit?: () => void;
  /** In a subscription: the stream sequence of the event being sent, which goes beside it as `extensions.sequence`. */
  lastSequence?: string;
  /**
   * Forgets what this context's loaders cached. A subscription's context lives as long as the subscription: it is
   * called before each event, so that every event reads current rows and the caches do not grow without end.
   */
  clearCaches?: () => void;
}
