// Depth and complexity limits, checked on each operation before the gateway plans it, so that one query
// cannot ask the subgraphs for an unbounded amount of work.
import type { ApolloServerPlugin } from '@apollo/server';
import {
  type ArgumentNode,
  type DocumentNode,
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
  valueFromASTUntyped,
} from 'graphql';
import { DEFAULT_PAGE_SIZE } from '../common/graphql/page-size';
import { ErrorCode, TouchlineError } from '../common/graphql/errors';

export interface QueryLimits {
  maxDepth: number;
  maxComplexity: number;
}

export interface QueryCost {
  depth: number;
  complexity: number;
  /** How deep `__schema` and `__type` selections nest (the standard introspection query reaches 15). */
  introspectionDepth: number;
}

/** Introspection adds no complexity (the playground needs it) but may not nest without bound either. */
export const MAX_INTROSPECTION_DEPTH = 20;

/** How many items a list field without `first` is assumed to return. */
const ASSUMED_LIST_SIZE = 10;

/**
 * Depth: the longest chain of nested fields. Complexity: every field costs 1, and what is under a list costs
 * once per item: `first` items for a paginated field (whose edges and nodes then count once),
 * ASSUMED_LIST_SIZE for other lists. Introspection is measured apart (see MAX_INTROSPECTION_DEPTH).
 */
export function measureOperation(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  fragments: Record<string, FragmentDefinitionNode>,
  variables: Record<string, unknown>,
): QueryCost {
  // A variable the request leaves out takes its default from the operation, as it will when the operation runs.
  const values: Record<string, unknown> = {
    ...Object.fromEntries(
      (operation.variableDefinitions ?? []).flatMap((d) => (d.defaultValue ? [[d.variable.name.value, valueFromASTUntyped(d.defaultValue)]] : [])),
    ),
    ...variables,
  };
  const root = operation.operation === 'mutation' ? schema.getMutationType() : operation.operation === 'subscription' ? schema.getSubscriptionType() : schema.getQueryType();
  const visit = (selectionSet: SelectionSetNode, parent: GraphQLType | null | undefined, visiting: Set<string>): QueryCost => {
    let depth = 0;
    let complexity = 0;
    let introspectionDepth = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        if (name === '__typename') continue;
        if (name === '__schema' || name === '__type') {
          const type = schema.getType(name === '__schema' ? '__Schema' : '__Type');
          const inner = selection.selectionSet ? visit(selection.selectionSet, type, visiting) : undefined;
          introspectionDepth = Math.max(introspectionDepth, (inner?.depth ?? 0) + 1);
          continue;
        }
        const field = fieldOf(parent, name);
        const child = selection.selectionSet
          ? visit(selection.selectionSet, field?.type && getNamedType(field.type), visiting)
          : { depth: 0, complexity: 0, introspectionDepth: 0 };
        depth = Math.max(depth, child.depth + 1);
        introspectionDepth = Math.max(introspectionDepth, child.introspectionDepth);
        complexity += 1 + child.complexity * multiplier(parent, field, selection.arguments ?? [], values);
      } else {
        const fragment = selection.kind === Kind.INLINE_FRAGMENT ? selection : fragments[selection.name.value];
        if (!fragment) continue;
        const name = selection.kind === Kind.FRAGMENT_SPREAD ? selection.name.value : undefined;
        if (name && visiting.has(name)) continue;
        const condition = fragment.typeCondition ? schema.getType(fragment.typeCondition.name.value) : parent;
        const inner = visit(fragment.selectionSet, condition ?? parent, name ? new Set([...visiting, name]) : visiting);
        depth = Math.max(depth, inner.depth);
        introspectionDepth = Math.max(introspectionDepth, inner.introspectionDepth);
        complexity += inner.complexity;
      }
    }
    return { depth, complexity, introspectionDepth };
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
          if (operation) checkQueryLimits(limits, schema, document, operation, request.variables ?? {});
        },
      };
    },
  };
}

/** Throws QUERY_TOO_DEEP or QUERY_TOO_COMPLEX when `operation` is past the limits (HTTP and WebSocket alike). */
export function checkQueryLimits(
  limits: QueryLimits,
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
): void {
  const fragments = Object.fromEntries(
    document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
  );
  const cost = measureOperation(schema, operation, fragments, variables);
  if (cost.depth > limits.maxDepth) {
    throw new TouchlineError(
      `Query is ${cost.depth} levels deep; the limit is ${limits.maxDepth}. Ask for fewer nested fields.`,
      ErrorCode.QUERY_TOO_DEEP,
      { depth: cost.depth, maxDepth: limits.maxDepth, http: { status: 400 } },
    );
  }
  if (cost.introspectionDepth > MAX_INTROSPECTION_DEPTH) {
    throw new TouchlineError(
      `Introspection is ${cost.introspectionDepth} levels deep; the limit is ${MAX_INTROSPECTION_DEPTH}.`,
      ErrorCode.QUERY_TOO_DEEP,
      { depth: cost.introspectionDepth, maxDepth: MAX_INTROSPECTION_DEPTH, http: { status: 400 } },
    );
  }
  if (cost.complexity > limits.maxComplexity) {
    throw new TouchlineError(
      `Query complexity is ${cost.complexity}; the limit is ${limits.maxComplexity}. Ask for smaller pages (first) or fewer fields.`,
      ErrorCode.QUERY_TOO_COMPLEX,
      { complexity: cost.complexity, maxComplexity: limits.maxComplexity, http: { status: 400 } },
    );
  }
}
