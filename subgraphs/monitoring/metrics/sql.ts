// Small helpers for the hand-written SQL of metrics (aggregations typeorm's query builder does not express portably):
// the table's full name (its schema on PostgreSQL) and placeholders in each database's style.
import type { EntityManager, EntityTarget, ObjectLiteral } from 'typeorm';

export interface Statement {
  parameters: unknown[];
  /** Adds a parameter; returns its placeholder. */
  bind(value: unknown): string;
}

export function statement(em: EntityManager): Statement {
  const postgres = em.connection.options.type === 'postgres';
  const parameters: unknown[] = [];
  return {
    parameters,
    bind(value) {
      parameters.push(value);
      return postgres ? `$${parameters.length}` : '?';
    },
  };
}

/** The escaped, schema-qualified name of `entity`'s table. */
export function tableOf(em: EntityManager, entity: EntityTarget<ObjectLiteral>): string {
  const { driver } = em.connection;
  return em.connection.getMetadata(entity).tablePath.split('.').map((part) => driver.escape(part)).join('.');
}
