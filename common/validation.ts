// Checks on mutation input that produce userErrors naming the field at fault, shared by every service.
import { UserErrorCode, userError, type UserError } from './graphql/types';

export const SLUG = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const PRINTABLE = /^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$/;

export interface JsonLimits {
  maxBytes: number;
  maxDepth?: number;
}

/** Collects the problems of one input; `errors` is empty when the input is acceptable. */
export class InputCheck {
  readonly errors: UserError[] = [];

  get ok(): boolean {
    return this.errors.length === 0;
  }

  fail(field: string, message: string, code: UserErrorCode = UserErrorCode.INVALID): void {
    this.errors.push(userError(field, message, code));
  }

  /** A lowercase slug (letters, digits, inner hyphens), as used for names. */
  slug(field: string, value: string | null | undefined, maxLength: number): void {
    if (value === undefined || value === null) return;
    if (value.length === 0) this.fail(field, 'must not be empty', UserErrorCode.REQUIRED);
    else if (value.length > maxLength) this.fail(field, `must be at most ${maxLength} characters (got ${value.length})`, UserErrorCode.TOO_LARGE);
    else if (!SLUG.test(value)) {
      this.fail(field, `"${value}" is not a valid name: use lowercase letters, digits and inner hyphens, for example "xg-shot-model"`);
    }
  }

  text(field: string, value: string | null | undefined, maxLength: number, options: { required?: boolean } = {}): void {
    if (value === undefined || value === null) {
      if (options.required) this.fail(field, 'is required', UserErrorCode.REQUIRED);
      return;
    }
    if (options.required && value.trim().length === 0) this.fail(field, 'must not be empty', UserErrorCode.REQUIRED);
    else if (value.length > maxLength) this.fail(field, `must be at most ${maxLength} characters (got ${value.length})`, UserErrorCode.TOO_LARGE);
    else if (!PRINTABLE.test(value)) this.fail(field, 'must not contain control characters');
  }

  integer(field: string, value: number | null | undefined, min: number, max: number): void {
    if (value === undefined || value === null) return;
    if (!Number.isInteger(value) || value < min || value > max) this.fail(field, `must be a whole number from ${min} to ${max} (got ${value})`);
  }

  /** A JSON object (not an array or a scalar) within a size and nesting limit. */
  jsonObject(field: string, value: unknown, limits: JsonLimits): void {
    if (value === undefined || value === null) return;
    if (typeof value !== 'object' || Array.isArray(value)) {
      this.fail(field, 'must be a JSON object');
      return;
    }
    const bytes = Buffer.byteLength(JSON.stringify(value));
    if (bytes > limits.maxBytes) {
      this.fail(field, `must be at most ${limits.maxBytes} bytes of JSON (got ${bytes})`, UserErrorCode.TOO_LARGE);
    } else if (depth(value) > (limits.maxDepth ?? 32)) {
      this.fail(field, `must not nest deeper than ${limits.maxDepth ?? 32} levels`, UserErrorCode.TOO_LARGE);
    }
  }
}

function depth(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  let deepest = 0;
  for (const child of Object.values(value)) deepest = Math.max(deepest, depth(child));
  return deepest + 1;
}
