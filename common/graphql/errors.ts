// The error vocabulary of Touchline's API: codes in `extensions.code`, and classes that carry the facts to act on.
import { GraphQLError, type ExecutionResult, type GraphQLFormattedError } from 'graphql';
import type { Logger } from '../logger';

/** Codes of GraphQL errors (system failures and refused requests). Business outcomes are `userErrors` instead. */
export enum ErrorCode {
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  FORBIDDEN = 'FORBIDDEN',
  BAD_USER_INPUT = 'BAD_USER_INPUT',
  NOT_FOUND = 'NOT_FOUND',
  QUERY_TOO_DEEP = 'QUERY_TOO_DEEP',
  QUERY_TOO_COMPLEX = 'QUERY_TOO_COMPLEX',
  PAYLOAD_TOO_LARGE = 'PAYLOAD_TOO_LARGE',
  BAD_REQUEST = 'BAD_REQUEST',
  SERVICE_UNAVAILABLE = 'SERVICE_UNAVAILABLE',
  /** A subscription asked to resume from further back than the stream keeps. */
  STREAM_TOO_OLD = 'STREAM_TOO_OLD',
  /** A subscriber fell too far behind its events and was cut off. */
  SLOW_CONSUMER = 'SLOW_CONSUMER',
  /** A connection asked for more subscriptions than it may hold. */
  TOO_MANY_SUBSCRIPTIONS = 'TOO_MANY_SUBSCRIPTIONS',
  INTERNAL_SERVER_ERROR = 'INTERNAL_SERVER_ERROR',
}

export class TouchlineError extends GraphQLError {
  constructor(message: string, code: ErrorCode, extensions: Record<string, unknown> = {}) {
    super(message, { extensions: { ...extensions, code } });
  }
}

export class AuthenticationError extends TouchlineError {
  constructor(message = 'Authentication required: send an API key as `Authorization: Bearer <key>`') {
    super(message, ErrorCode.UNAUTHENTICATED, { http: { status: 401 } });
  }
}

export class ForbiddenError extends TouchlineError {
  constructor(operation: string, requiredRole: string, actualRole: string) {
    super(
      `${operation} needs the ${requiredRole} role; this key has the ${actualRole} role`,
      ErrorCode.FORBIDDEN,
      { requiredRole },
    );
  }
}

export class BadInputError extends TouchlineError {
  constructor(argument: string, problem: string) {
    super(`${argument}: ${problem}`, ErrorCode.BAD_USER_INPUT, { argument });
  }
}

const INTERNAL_MESSAGE = 'Internal server error';

/** Codes that are safe to show a client as they are; anything else is an internal failure. */
const PUBLIC_CODES = new Set<string>([
  ...Object.values(ErrorCode),
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
  'INVALID_GRAPHQL', // the gateway's word for a malformed request, such as an unknown operation name
]);

/**
 * Apollo Server's `formatError`: known errors pass through without stack traces; unexpected ones are logged
 * in full and reach the client as a bare INTERNAL_SERVER_ERROR.
 */
export function formatError(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const code = formatted.extensions?.code;
    if (code === ErrorCode.INTERNAL_SERVER_ERROR && formatted.message === INTERNAL_MESSAGE) {
      return formatted; // already logged and stripped by the subgraph that failed
    }
    if (typeof code === 'string' && PUBLIC_CODES.has(code) && code !== ErrorCode.INTERNAL_SERVER_ERROR) {
      const { stacktrace: _stacktrace, exception: _exception, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, extensions };
    }
    logger.error({ err: unwrap(error), path: formatted.path }, 'unexpected error while executing an operation');
    return {
      message: INTERNAL_MESSAGE,
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
    };
  };
}

function unwrap(error: unknown): unknown {
  return error instanceof GraphQLError && error.originalError ? error.originalError : error;
}

/**
 * A result as it goes out over a WebSocket: each error formatted as formatError does for HTTP (errors that came
 * from a subgraph arrive already formatted, as plain objects), and `extensions` added.
 */
export function formatResult(result: ExecutionResult, format: ReturnType<typeof formatError>, extensions?: Record<string, unknown>) {
  const { errors, ...rest } = result;
  const formatted = errors?.map((error) => {
    const plain = error instanceof GraphQLError ? error.toJSON() : (error as GraphQLFormattedError);
    return format(plain, error);
  });
  return {
    ...rest,
    ...(formatted ? { errors: formatted } : {}),
    ...(extensions ? { extensions: { ...rest.extensions, ...extensions } } : {}),
  };
}
