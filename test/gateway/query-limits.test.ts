// How deep and how expensive the gateway judges an operation to be, before it asks the subgraphs for anything.
import { buildSchema, getIntrospectionQuery, Kind, parse, type FragmentDefinitionNode, type OperationDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PAGE_SIZE } from '../../common/graphql/page-size';
import { measureOperation, type QueryCost } from '../../gateway/query-limits';

const schema = buildSchema(`
  type Query {
    items(first: Int, after: String): ItemConnection!
    item(id: ID!): Item
    featured: [Item!]!
    tags: [String!]!
    results: [SearchResult!]!
  }
  type Mutation {
    archiveItems(ids: [ID!]!): [Item!]!
  }
  type ItemConnection {
    edges: [ItemEdge!]!
    nodes: [Item!]!
    pageInfo: PageInfo!
  }
  type ItemEdge {
    cursor: String!
    node: Item!
  }
  type PageInfo {
    hasNextPage: Boolean!
    endCursor: String
  }
  type Item {
    id: ID!
    name: String!
    tags: [String!]!
    owner: Owner
    related(first: Int): ItemConnection!
  }
  type Owner {
    name: String!
    team: Team
  }
  type Team {
    name: String!
    league: League
  }
  type League {
    name: String!
  }
  union SearchResult = Item | Owner
`);

/** The cost of the (single) operation in `document`, as the gateway would measure it. */
/** Depth and complexity of an operation (its introspection is measured apart: see `introspection`). */
function measure(document: string, variables: Record<string, unknown> = {}): Omit<QueryCost, 'introspectionDepth'> {
  const { depth, complexity } = measureAll(document, variables);
  return { depth, complexity };
}

function introspection(document: string): number {
  return measureAll(document).introspectionDepth;
}

function measureAll(document: string, variables: Record<string, unknown> = {}): QueryCost {
  const definitions = parse(document).definitions;
  const operation = definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (!operation) throw new Error('test bug: no operation');
  const fragments = Object.fromEntries(
    definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
  );
  return measureOperation(schema, operation, fragments, variables);
}

describe('measureOperation', () => {
  it('counts each field once and the longest chain of nested fields as the depth', () => {
    expect(measure('{ item(id: "1") { id name } }')).toEqual({ depth: 2, complexity: 3 });
    // league.name, league, team, owner, item: five fields, five levels.
    expect(measure('{ item(id: "1") { owner { team { league { name } } } } }')).toEqual({ depth: 5, complexity: 5 });
    expect(measure('{ item(id: "1") { id owner { name } } tags }')).toEqual({ depth: 3, complexity: 5 });
  });

  it('charges what is under a paginated field once per requested item, counting edges and nodes once', () => {
    // nodes { id name } = 3, times 5 items, plus the items field itself.
    expect(measure('{ items(first: 5) { nodes { id name } } }')).toEqual({ depth: 3, complexity: 1 + 3 * 5 });
    // edges { node { id name } } = 4, times 5.
    expect(measure('{ items(first: 5) { edges { node { id name } } } }')).toEqual({ depth: 4, complexity: 1 + 4 * 5 });
    expect(measure('{ items(first: 50) { nodes { id name } } }').complexity).toBe(1 + 3 * 50);
  });

  it('charges the default page size for a paginated field asked without first', () => {
    expect(measure('{ items { nodes { id } } }').complexity).toBe(1 + 2 * DEFAULT_PAGE_SIZE);
    expect(measure('{ item(id: "1") { related { nodes { id } } } }').complexity).toBe(1 + (1 + 2 * DEFAULT_PAGE_SIZE));
  });

  it('multiplies nested pages together', () => {
    // related(first: 3) { nodes { id } } = 1 + 2 * 3 = 7; nodes around it = 8; times 10 items.
    expect(measure('{ items(first: 10) { nodes { related(first: 3) { nodes { id } } } } }')).toEqual({ depth: 5, complexity: 1 + 8 * 10 });
  });

  it('assumes ten items for a plain list', () => {
    expect(measure('{ featured { id name } }').complexity).toBe(1 + 2 * 10);
    expect(measure('{ featured { tags } }').complexity).toBe(1 + 1 * 10);
    // A list of scalars has nothing under it to multiply.
    expect(measure('{ tags }')).toEqual({ depth: 1, complexity: 1 });
  });

  it('reads first from the variables', () => {
    const query = 'query Page($n: Int) { items(first: $n) { nodes { id } } }';
    expect(measure(query, { n: 50 }).complexity).toBe(1 + 2 * 50);
    expect(measure(query, { n: 2 }).complexity).toBe(1 + 2 * 2);
    expect(measure(query, {}).complexity).toBe(1 + 2 * DEFAULT_PAGE_SIZE);
    expect(measure(query, { n: null }).complexity).toBe(1 + 2 * DEFAULT_PAGE_SIZE);
  });

  it("uses a variable's default value when the request leaves the variable out, as execution will", () => {
    const query = 'query Page($n: Int = 100) { items(first: $n) { nodes { related(first: $n) { nodes { id } } } } }';
    const asExecuted = measure('{ items(first: 100) { nodes { related(first: 100) { nodes { id } } } } }');
    expect(measure(query, {})).toEqual(asExecuted);
    // A value the request does send wins over the default.
    expect(measure(query, { n: 1 })).toEqual(measure('{ items(first: 1) { nodes { related(first: 1) { nodes { id } } } } }'));
  });

  it('costs a query written with fragments the same as the query written out', () => {
    const written = measure('{ items(first: 5) { nodes { id name owner { name } } } }');
    const withFragments = measure(`
      { items(first: 5) { ...Page } }
      fragment Page on ItemConnection { nodes { ...ItemFields } }
      fragment ItemFields on Item { id ...Named owner { name } }
      fragment Named on Item { name }
    `);
    const withInlineFragments = measure('{ items(first: 5) { ... on ItemConnection { nodes { id ... { name } owner { ... on Owner { name } } } } } }');
    expect(written).toEqual({ depth: 4, complexity: 1 + 5 * 5 });
    expect(withFragments).toEqual(written);
    expect(withInlineFragments).toEqual(written);
  });

  it('follows inline fragments on the members of a union', () => {
    // Under a plain list: (id + name + owner name) = 3 per result, ten results assumed.
    expect(measure('{ results { ... on Item { id name } ... on Owner { name } } }')).toEqual({ depth: 2, complexity: 1 + 3 * 10 });
    // The type condition decides which fields are lists: Item.related is paginated.
    expect(measure('{ results { ... on Item { related(first: 2) { nodes { id } } } } }').complexity).toBe(1 + (1 + 2 * 2) * 10);
  });

  it('stops at a fragment that spreads itself instead of looping forever', () => {
    const cost = measure(`
      { item(id: "1") { ...Recursive } }
      fragment Recursive on Item { id related(first: 2) { nodes { ...Recursive } } }
    `);
    // The inner spread is skipped: nodes {} = 1, related = 1 + 1 * 2 = 3, id = 1, item = 1 + 4.
    expect(cost).toEqual({ depth: 3, complexity: 5 });

    const mutual = measure(`
      { item(id: "1") { ...A } }
      fragment A on Item { id ...B }
      fragment B on Item { name ...A }
    `);
    expect(mutual).toEqual({ depth: 2, complexity: 3 });
  });

  it('lets introspection through for free, measuring only how deep it nests', () => {
    expect(measure('{ __schema { types { name fields { name type { name ofType { name } } } } } }')).toEqual({ depth: 0, complexity: 0 });
    expect(introspection('{ __schema { types { name fields { name type { name ofType { name } } } } } }')).toBe(6);
    expect(measure('{ __type(name: "Item") { fields { name } } }')).toEqual({ depth: 0, complexity: 0 });
    expect(introspection('{ __type(name: "Item") { fields { name } } }')).toBe(3);
    expect(introspection(getIntrospectionQuery({ descriptions: true, inputValueDeprecation: true, specifiedByUrl: true }))).toBe(15);
    expect(measure('{ items(first: 5) { __typename nodes { __typename id } } }')).toEqual(measure('{ items(first: 5) { nodes { id } } }'));
  });

  it('measures a mutation against the mutation type', () => {
    // archiveItems returns a plain list, so what it returns is assumed ten times.
    expect(measure('mutation { archiveItems(ids: ["1", "2"]) { id name } }')).toEqual({ depth: 2, complexity: 1 + 2 * 10 });
  });

  it('charges each alias of the same field separately', () => {
    expect(measure('{ a: items(first: 5) { nodes { id } } b: items(first: 5) { nodes { id } } }').complexity).toBe(2 * (1 + 2 * 5));
  });
});
