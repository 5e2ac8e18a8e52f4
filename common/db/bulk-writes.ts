// Bulk writes, for transactions that change thousands of rows at once (a placement commit, a batch of events): one
// statement per table rather than one per row. On PostgreSQL every column travels as one array parameter (unnest),
// so a statement costs neither a round trip per row nor typeorm's handling of tens of thousands of parameters;
// SQLite, in process, takes VALUES lists within its limit of bound parameters.
import type { EntityManager, EntityTarget, ObjectLiteral } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';

/** SQLite allows 32,766 bound parameters per statement. */
const SQLITE_MAX_PARAMETERS = 30_000;

interface Columns {
  table: string;
  columns: ColumnMetadata[];
  /** Escaped column names, in the order of `columns`. */
  names: string[];
  /** PostgreSQL's names of their types, for the array parameters' casts. */
  types: string[];
  postgres: boolean;
}

function columnsOf(em: EntityManager, entity: EntityTarget<ObjectLiteral>, properties?: readonly string[]): Columns {
  const { driver } = em.connection;
  const metadata = em.connection.getMetadata(entity);
  const columns = properties
    ? properties.map((property) => {
        const column = metadata.findColumnWithPropertyName(property);
        if (!column) throw new Error(`${metadata.name} has no column ${property}`);
        return column;
      })
    : metadata.columns;
  return {
    table: metadata.tablePath.split('.').map((part) => driver.escape(part)).join('.'),
    columns,
    names: columns.map((column) => driver.escape(column.databaseName)),
    types: columns.map((column) => driver.normalizeType(column)),
    postgres: driver.options.type === 'postgres',
  };
}

/** A row's values for `columns`, as typeorm would write them. */
function valuesOf(em: EntityManager, columns: readonly ColumnMetadata[], row: ObjectLiteral): unknown[] {
  const { driver } = em.connection;
  return columns.map((column) => driver.preparePersistentValue(column.getEntityValue(row), column) ?? null);
}

/** Inserts rows of `entity`, every column, in one statement on PostgreSQL and a few on SQLite. */
export async function insertRows<T extends ObjectLiteral>(em: EntityManager, entity: EntityTarget<T>, rows: readonly T[]): Promise<void> {
  if (rows.length === 0) return;
  const shape = columnsOf(em, entity);
  const into = `INSERT INTO ${shape.table} (${shape.names.join(', ')})`;
  if (shape.postgres && rows.length > 1) {
    const arrays = transpose(shape.columns.length, rows.map((row) => valuesOf(em, shape.columns, row)));
    await em.query(`${into} SELECT * FROM unnest(${shape.types.map((type, i) => `$${i + 1}::${type}[]`).join(', ')})`, arrays);
    return;
  }
  // A single row (or SQLite): plain VALUES, which PostgreSQL plans faster than unnest.
  const perStatement = Math.floor(SQLITE_MAX_PARAMETERS / shape.columns.length);
  for (let offset = 0; offset < rows.length; offset += perStatement) {
    const chunk = rows.slice(offset, offset + perStatement);
    const parameters: unknown[] = [];
    const tuples = chunk.map((row) => `(${valuesOf(em, shape.columns, row).map((value) => placeholder(shape.postgres, parameters, value)).join(', ')})`);
    await em.query(`${into} VALUES ${tuples.join(', ')}`, parameters);
  }
}

/**
 * Writes `properties` of rows of `entity`, matched by id, in one statement on PostgreSQL and a few on SQLite
 * (UPDATE ... FROM, which SQLite has since 3.33). `onlyIf` adds a condition on the rows' current values. Returns how
 * many rows changed. Runs in the caller's transaction.
 */
export function updateRows<T extends ObjectLiteral & { id: string }>(
  em: EntityManager,
  entity: EntityTarget<T>,
  rows: readonly T[],
  properties: readonly (keyof T & string)[],
  onlyIf?: { property: keyof T & string; in: readonly unknown[] },
): Promise<number> {
  return updateRowsBy(em, entity, 'id', rows, properties, onlyIf);
}

/** `updateRows` for rows matched by another unique property than `id`. */
export async function updateRowsBy<T extends ObjectLiteral>(
  em: EntityManager,
  entity: EntityTarget<T>,
  key: keyof T & string,
  rows: readonly T[],
  properties: readonly (keyof T & string)[],
  onlyIf?: { property: keyof T & string; in: readonly unknown[] },
): Promise<number> {
  if (rows.length === 0) return 0;
  const runner = em.queryRunner;
  if (!runner) throw new Error('updateRows runs in a transaction');
  const shape = columnsOf(em, entity, [key, ...properties]);
  const guard = onlyIf && { ...columnsOf(em, entity, [onlyIf.property]), values: onlyIf.in };
  const [id, ...assigned] = shape.names;
  const set = `SET ${assigned.map((name) => `${name} = v.${name}`).join(', ')}`;
  const match = `${shape.table}.${id} = v.${id}`;
  if (shape.postgres) {
    const arrays = transpose(shape.columns.length, rows.map((row) => valuesOf(em, shape.columns, row)));
    const unnest = `unnest(${shape.types.map((type, i) => `$${i + 1}::${type}[]`).join(', ')})`;
    let sql = `UPDATE ${shape.table} ${set} FROM ${unnest} AS v(${shape.names.join(', ')}) WHERE ${match}`;
    if (guard) sql += ` AND ${shape.table}.${guard.names[0]} = ANY($${arrays.length + 1}::${guard.types[0]}[])`;
    const result = await runner.query(sql, guard ? [...arrays, [...guard.values]] : arrays, true);
    return result.affected ?? 0;
  }
  const perStatement = Math.floor((SQLITE_MAX_PARAMETERS - (guard?.values.length ?? 0)) / shape.columns.length);
  const tuple = `(${shape.columns.map(() => '?').join(', ')})`;
  let changed = 0;
  for (let offset = 0; offset < rows.length; offset += perStatement) {
    const chunk = rows.slice(offset, offset + perStatement);
    let sql = `WITH v(${shape.names.join(', ')}) AS (VALUES ${chunk.map(() => tuple).join(', ')}) UPDATE ${shape.table} ${set} FROM v WHERE ${match}`;
    if (guard) sql += ` AND ${shape.table}.${guard.names[0]} IN (${guard.values.map(() => '?').join(', ')})`;
    const parameters = [...chunk.flatMap((row) => valuesOf(em, shape.columns, row)), ...(guard?.values ?? [])];
    const result = await runner.query(sql, parameters, true);
    changed += result.affected ?? 0;
  }
  return changed;
}

/** Adds a parameter and returns its placeholder. */
function placeholder(postgres: boolean, parameters: unknown[], value: unknown): string {
  parameters.push(value);
  return postgres ? `$${parameters.length}` : '?';
}

/** Rows of values to one array per column. */
function transpose(columns: number, rows: readonly unknown[][]): unknown[][] {
  const arrays = Array.from({ length: columns }, () => new Array<unknown>(rows.length));
  rows.forEach((row, r) => row.forEach((value, c) => (arrays[c]![r] = value)));
  return arrays;
}
