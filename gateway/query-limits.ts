// Depth and complexity limits, checked on each operation before the gateway plans it, so that one query
// cannot ask the subgraphs for an unbounded amount of work.
import type { ApolloServerPlugin } from '@apollo/server';
import {
  type ArgumentNode,
  getNamedType,
  getNullableType,
  isListType,
  Kind,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLSchema,
  type GraphQLType,
  type OperationDefinitionNode,
  type SelectionSetNode,
  isCompositeType,
  isObjectType,
  isInterfaceType,
} from 'graphql';
import { DEFAULT_PAGE_SIZE } from '../common/graphql/connection';
import { ErrorCode, TouchlineError } from '../common/graphql/errors';

export interface QueryLimits {
  maxDepth: number;
  maxComplexity: number;
}

export interface QueryCost {
  depth: number;
  complexity: number;
}

/** How many items a list field without `first` is assumed to return. */
const ASSUMED_LIST_SIZE = 10;

/**
 * Depth: the longest chain of nested fields. Complexity: every field costs 1, and what is under a list costs
 * once per item: `first` items for a paginated field (whose edges and nodes then count once),
 * ASSUMED_LIST_SIZE for other lists. Introspection is free.
 */
export function measureOperation(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  fragments: Record<string, FragmentDefinitionNode>,
  variables: Record<string, unknown>,
): QueryCost {
  const root = operation.operation === 'mutation' ? schema.getMutationType() : operation.operation === 'subscription' ? schema.getSubscriptionType() : schema.getQueryType();
  const visit = (selectionSet: SelectionSetNode, parent: GraphQLType | null | undefined, visiting: Set<string>): QueryCost => {
    let depth = 0;
    let complexity = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value.startsWith('__')) continue;
        const field = fieldOf(parent, selection.name.value);
        const child = selection.selectionSet ? visit(selection.selectionSet, field?.type && getNamedType(field.type), visiting) : { depth: 0, complexity: 0 };
        depth = Math.max(depth, child.depth + 1);
        complexity += 1 + child.complexity * multiplier(parent, field, selection.arguments ?? [], variables);
      } else {
        const fragment = selection.kind === Kind.INLINE_FRAGMENT ? selection : fragments[selection.name.value];
        if (!fragment) continue;
        const name = selection.kind === Kind.FRAGMENT_SPREAD ? selection.name.value : undefined;
        if (name && visiting.has(name)) continue;
        const condition = fragment.typeCondition ? schema.getType(fragment.typeCondition.name.value) : parent;
        const inner = visit(fragment.selectionSet, condition ?? parent, name ? new Set([...visiting, name]) : visiting);
        depth = Math.max(depth, inner.depth);
        complexity += inner.complexity;
      }
    }
    return { depth, complexity };
  };
  return visit(operation.selectionSet, root, new Set());
}

function fieldOf(parent: GraphQLType | null | undefined, name: string): GraphQLField<unknown, unknown> | undefined {
  if (!parent || !isCompositeType(parent)) return undefined;
  return isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined;
}

function multiplier(
  parent: GraphQLType | null | undefined,
  field: GraphQLField<unknown, unknown> | undefined,
  args: readonly ArgumentNode[],
  variables: Record<string, unknown>,
): number {
  const first = args.find((arg) => arg.name.value === 'first');
  if (first) {
    const value = first.value.kind === Kind.INT ? Number(first.value.value) : first.value.kind === Kind.VARIABLE ? variables[first.value.name.value] : undefined;
    return typeof value === 'number' && value > 0 ? value : DEFAULT_PAGE_SIZE;
  }
  if (field?.args.some((arg) => arg.name === 'first')) return DEFAULT_PAGE_SIZE;
  // A connection's `edges` and `nodes` hold the page its field already paid for.
  if (parent && 'name' in parent && parent.name.endsWith('Connection')) return 1;
  return field && isListType(getNullableType(field.type)) ? ASSUMED_LIST_SIZE : 1;
}

export function queryLimitsPlugin(limits: QueryLimits): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, document, schema, request }) {
          if (!operation) return;
          const fragments = Object.fromEntries(
            document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
          );
          const cost = measureOperation(schema, operation, fragments, request.variables ?? {});
          if (cost.depth > limits.maxDepth) {
            throw new TouchlineError(
              `Query is ${cost.depth} levels deep; the limit is ${limits.maxDepth}. Ask for fewer nested fields.`,
              ErrorCode.QUERY_TOO_DEEP,
              { depth: cost.depth, maxDepth: limits.maxDepth, http: { status: 400 } },
            );
          }
          if (cost.complexity > limits.maxComplexity) {
            throw new TouchlineError(
              `Query complexity is ${cost.complexity}; the limit is ${limits.maxComplexity}. Ask for smaller pages (first) or fewer fields.`,
              ErrorCode.QUERY_TOO_COMPLEX,
              { complexity: cost.complexity, maxComplexity: limits.maxComplexity, http: { status: 400 } },
            );
          }
        },
      };
    },
  };
}
