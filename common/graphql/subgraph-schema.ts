// Builds a federated subgraph schema from type-graphql classes: type-graphql has no federation support,
// so we print its schema with directives, link Federation 2, and let @apollo/subgraph build the real one.
import { buildSubgraphSchema, printSubgraphSchema } from '@apollo/subgraph';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import { parse, type GraphQLSchema } from 'graphql';
import { buildSchema, createResolversMap, type NonEmptyArray } from 'type-graphql';
import type { ServiceContext } from './context';
import { guardOperations, guardSubscriptions } from './operation-guard';
import { DateTimeScalar } from './types';

const FEDERATION_LINK =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", ' +
  'import: ["@key", "@shareable", "@external", "@requires", "@provides", "@inaccessible"])';

/** Resolves an entity from the representation another subgraph holds (its key fields). */
export type ReferenceResolver<TContext> = (reference: { id: string }, context: TContext) => unknown;

export interface SubgraphSchemaOptions<TContext extends ServiceContext> {
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  resolvers: Function[];
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  orphanedTypes?: Function[];
  /** `__resolveReference` for each entity type this subgraph owns, by type name. */
  references?: Record<string, ReferenceResolver<TContext>>;
}

export async function buildFederatedSchema<TContext extends ServiceContext>(
  options: SubgraphSchemaOptions<TContext>,
): Promise<GraphQLSchema> {
  if (options.resolvers.length === 0) {
    // A service whose API arrives in a later release still joins the supergraph.
    return buildSubgraphSchema([{ typeDefs: parse(FEDERATION_LINK) }]);
  }
  const schema = await buildSchema({
    // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
    resolvers: options.resolvers as NonEmptyArray<Function>,
    orphanedTypes: options.orphanedTypes,
    scalarsMap: [{ type: Date, scalar: DateTimeScalar }],
    validate: false,
    skipCheck: true,
    // Our subscriptions bring their own `subscribe` (event streams, common/events); type-graphql still asks for a
    // PubSub, which nothing uses.
    pubSub: {
      publish: () => {
        throw new Error('type-graphql topics are not used: subscriptions read event streams');
      },
      subscribe: () => {
        throw new Error('type-graphql topics are not used: subscriptions read event streams');
      },
    },
  });
  const resolvers = createResolversMap(schema);
  guardOperations(schema, resolvers);
  guardSubscriptions(schema, resolvers);
  for (const [typeName, resolveReference] of Object.entries(options.references ?? {})) {
    resolvers[typeName] = { ...(resolvers[typeName] as object), __resolveReference: resolveReference } as never;
  }
  const typeDefs = parse(`${FEDERATION_LINK}\n${printSchemaWithDirectives(schema)}`);
  return buildSubgraphSchema([{ typeDefs, resolvers: resolvers as never }]);
}

/** The SDL a subgraph publishes to composition (what `_service { sdl }` returns). */
export function subgraphSdl(schema: GraphQLSchema): string {
  return printSubgraphSchema(schema);
}
