// Relay cursor connections: the GraphQL types and keyset pagination over a typeorm query.
import { ArgsType, Directive, Field, Int, ObjectType, type ClassType } from 'type-graphql';
import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { BadInputError } from './errors';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './page-size';

export { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './page-size';

@ObjectType({ description: 'Where a page sits in its list.' })
@Directive('@shareable')
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => Boolean)
  hasPreviousPage!: boolean;

  @Field(() => String, { nullable: true })
  startCursor!: string | null;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

@ArgsType()
export class PageArgs {
  @Field(() => Int, { nullable: true, description: `How many items to return (1 to ${MAX_PAGE_SIZE}, default ${DEFAULT_PAGE_SIZE}).` })
  first?: number | null;

  @Field(() => String, { nullable: true, description: 'Return the items after this cursor (a previous page\'s endCursor).' })
  after?: string | null;
}

export interface Edge<T> {
  cursor: string;
  node: T;
}

export interface ConnectionShape<T> {
  edges: Edge<T>[];
  nodes: T[];
  pageInfo: PageInfo;
  countTotal: () => Promise<number>;
}

/** Makes the `XConnection` and `XEdge` GraphQL types for a node type. */
export function Connection<T extends object>(nodeType: ClassType<T>, name: string) {
  @ObjectType(`${name}Edge`)
  class EdgeType {
    @Field(() => String)
    cursor!: string;

    @Field(() => nodeType)
    node!: T;
  }

  @ObjectType(`${name}Connection`)
  class ConnectionType {
    @Field(() => [EdgeType])
    edges!: Edge<T>[];

    @Field(() => [nodeType], { description: 'The nodes of `edges`, for clients that need no cursors.' })
    nodes!: T[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;

    countTotal!: () => Promise<number>;

    @Field(() => Int, { description: 'How many items the whole list holds, across all pages.' })
    totalCount(): Promise<number> {
      return this.countTotal();
    }
  }
  return ConnectionType;
}

export interface SortKey<T> {
  /** The SQL expression to order by, for example `model.name`. */
  column: string;
  /** The same value read from a loaded row. */
  value: (row: T) => string | number;
  direction: 'ASC' | 'DESC';
}

/**
 * Keyset pagination: orders `query` by `keys` (the last one must be unique), continues after the cursor's
 * values, and counts the whole list only if `totalCount` is asked for.
 */
export async function paginate<T extends ObjectLiteral>(
  query: SelectQueryBuilder<T>,
  args: PageArgs,
  keys: SortKey<T>[],
): Promise<ConnectionShape<T>> {
  const first = args.first ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw new BadInputError('first', `must be between 1 and ${MAX_PAGE_SIZE} (got ${first})`);
  }
  const countQuery = query.clone();
  const page = query.clone();

  if (args.after) {
    const values = decodeCursor(args.after, keys.length);
    const alternatives: string[] = [];
    const parameters: Record<string, string | number> = {};
    keys.forEach((key, index) => {
      const equalities = keys.slice(0, index).map((earlier, i) => `${earlier.column} = :cursor${i}`);
      const comparison = `${key.column} ${key.direction === 'ASC' ? '>' : '<'} :cursor${index}`;
      alternatives.push(`(${[...equalities, comparison].join(' AND ')})`);
      parameters[`cursor${index}`] = values[index]!;
    });
    page.andWhere(`(${alternatives.join(' OR ')})`, parameters);
  }
  keys.forEach((key, index) => (index === 0 ? page.orderBy(key.column, key.direction) : page.addOrderBy(key.column, key.direction)));
  const rows = await page.take(first + 1).getMany();

  const hasNextPage = rows.length > first;
  const nodes = rows.slice(0, first);
  const edges = nodes.map((node) => ({ node, cursor: encodeCursor(keys.map((key) => key.value(node))) }));
  return {
    edges,
    nodes,
    pageInfo: {
      hasNextPage,
      hasPreviousPage: Boolean(args.after),
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
    countTotal: () => countQuery.getCount(),
  };
}

/** Builds a connection object of one of the classes made by `Connection`. */
export function toConnection<C extends object, T>(type: ClassType<C>, shape: ConnectionShape<T>): C {
  return Object.assign(new type(), shape);
}

function encodeCursor(values: (string | number)[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

function decodeCursor(cursor: string, length: number): (string | number)[] {
  try {
    const values: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(values) && values.length === length && values.every((v) => typeof v === 'string' || typeof v === 'number')) {
      return values as (string | number)[];
    }
  } catch {
    // not base64 JSON: fall through
  }
  throw new BadInputError('after', 'is not a cursor from this list');
}

/**
 * A date as a sort key's cursor value: UTC as `YYYY-MM-DD HH:MM:SS.mmm`, the form SQLite stores dates in (so they
 * compare as text) and PostgreSQL reads as a timestamp.
 */
export function dateCursorValue(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '');
}
