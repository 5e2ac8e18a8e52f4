// Label matchers as Prometheus reads them: `=`, `!=`, `=~`, `!~`, regexes anchored at both ends, a missing label
// reading as the empty string. JavaScript regexes stand in for RE2: the usual patterns mean the same in both.
import type { LabelMatcher } from './types';

export type LabelsPredicate = (labels: Readonly<Record<string, string>>) => boolean;

/** Why a matcher's regex does not compile, or undefined when it does. */
export function regexProblem(pattern: string): string | undefined {
  try {
    anchored(pattern);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** One predicate for all the matchers (every one must hold). Expects valid regexes: see `checkRule`. */
export function compileMatchers(matchers: readonly LabelMatcher[]): LabelsPredicate {
  const tests = matchers.map(compileMatcher);
  if (tests.length === 0) return () => true;
  return (labels) => {
    for (const test of tests) if (!test(labels)) return false;
    return true;
  };
}

/** The matcher as a predicate on its label's value, the empty string standing for a missing label. */
export function compileValueMatcher({ op, value }: LabelMatcher): (labelValue: string) => boolean {
  switch (op) {
    case '=':
      return (labelValue) => labelValue === value;
    case '!=':
      return (labelValue) => labelValue !== value;
    case '=~': {
      const regex = anchored(value);
      return (labelValue) => regex.test(labelValue);
    }
    case '!~': {
      const regex = anchored(value);
      return (labelValue) => !regex.test(labelValue);
    }
  }
}

function compileMatcher(matcher: LabelMatcher): LabelsPredicate {
  const test = compileValueMatcher(matcher);
  const { label } = matcher;
  return (labels) => test(labels[label] ?? '');
}

function anchored(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`);
}
