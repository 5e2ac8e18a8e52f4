// GraphQL types every subgraph shares: scalars, user errors, payloads, and the roles a field accepts.
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import { Directive, Extensions, Field, ObjectType, registerEnumType } from 'type-graphql';
import { isRole, type Role } from '../auth/identity';

export const DateTimeScalar = DateTimeResolver;
export const JSONScalar = JSONResolver;

/** Codes of business outcomes a client should handle, carried in a payload's `userErrors`. */
export enum UserErrorCode {
  INVALID = 'INVALID',
  REQUIRED = 'REQUIRED',
  TOO_LARGE = 'TOO_LARGE',
  NOT_FOUND = 'NOT_FOUND',
  ALREADY_EXISTS = 'ALREADY_EXISTS',
  CONFLICT = 'CONFLICT',
}
registerEnumType(UserErrorCode, { name: 'UserErrorCode', description: 'What kind of problem a user error reports.' });

@ObjectType({ description: 'A problem with the input of a mutation; nothing was changed.' })
@Directive('@shareable')
export class UserError {
  @Field(() => [String], { nullable: true, description: 'Path to the input field at fault, for example ["input", "version"].' })
  field!: string[] | null;

  @Field(() => String)
  message!: string;

  @Field(() => UserErrorCode)
  code!: UserErrorCode;
}

export function userError(field: string | string[] | null, message: string, code: UserErrorCode = UserErrorCode.INVALID): UserError {
  return Object.assign(new UserError(), {
    field: field === null ? null : ['input', ...(Array.isArray(field) ? field : field.split('.'))],
    message,
    code,
  });
}

/** Base of every mutation payload: the result fields plus `userErrors`, empty when the mutation succeeded. */
@ObjectType()
export abstract class Payload {
  @Field(() => [UserError], { description: 'Empty when the mutation succeeded; otherwise why nothing was changed.' })
  userErrors: UserError[] = [];
}

export function hasUserErrors(value: unknown): value is Payload {
  return typeof value === 'object' && value !== null && Array.isArray((value as Payload).userErrors) &&
    (value as Payload).userErrors.length > 0;
}

/**
 * The roles an operation accepts, any one of them enough (`@RequiresRole('operator', 'node')`); without it, queries
 * need `viewer` and mutations `operator`. Human roles rank as ever: `operator` admits an admin too.
 */
export function RequiresRole(...roles: [Role, ...Role[]]): MethodDecorator & PropertyDecorator {
  return Extensions({ requiredRoles: roles });
}

/** The roles a field declared with @RequiresRole, or undefined when it declared none. */
export function requiredRolesOf(extensions: Readonly<Record<string, unknown>> | null | undefined): Role[] | undefined {
  const declared = extensions?.requiredRoles;
  return Array.isArray(declared) && declared.length > 0 && declared.every(isRole) ? declared : undefined;
}

/**
 * A mutation left out of the audit log: for the frequent, machine-made reports of node agents (heartbeats,
 * logs), which would drown the people's actions. Refused attempts are still recorded.
 */
export function Unaudited(): MethodDecorator & PropertyDecorator {
  return Extensions({ audited: false });
}

/** What a service returns from a mutation: the payload's result fields, or why nothing was changed. */
export type Outcome<T> = { value: T; userErrors?: undefined } | { value?: undefined; userErrors: UserError[] };

export const succeed = <T>(value: T): Outcome<T> => ({ value });
export const reject = <T>(...userErrors: UserError[]): Outcome<T> => ({ userErrors });

/** Builds a payload of class `type` from a service's outcome. */
export function toPayload<P extends Payload>(type: new () => P, outcome: Outcome<Partial<Omit<P, 'userErrors'>>>): P {
  const payload = new type();
  if (outcome.userErrors) payload.userErrors = outcome.userErrors;
  else Object.assign(payload, outcome.value);
  return payload;
}
