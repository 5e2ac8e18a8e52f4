// Alert summaries with Prometheus-style placeholders: `{{ $labels.node }}`, `{{ $value }}`, `{{ $threshold }}`.
// Parsed once per template (kept between rounds), compiled once per rule and round, then filled in for each alert.

/** A parsed summary: literal text, and the placeholders between. */
export type SummaryPart = { text: string } | { label: string } | { value: true } | { threshold: true };

const PLACEHOLDER = /\{\{\s*([^}]*?)\s*\}\}/g;
const LABEL_REF = /^\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)$/;

/** Templates already parsed: every round validates and compiles every rule's, and they rarely change. */
const parsed = new Map<string, { parts: SummaryPart[] } | { problem: string }>();
const PARSED_KEPT = 10_000;

/** The parts of a summary, or a problem naming the placeholder it does not know. The result is shared: do not change it. */
export function parseSummary(template: string): { parts: SummaryPart[] } | { problem: string } {
  let result = parsed.get(template);
  if (!result) {
    result = parse(template);
    if (parsed.size >= PARSED_KEPT) parsed.clear();
    parsed.set(template, result);
  }
  return result;
}

function parse(template: string): { parts: SummaryPart[] } | { problem: string } {
  const parts: SummaryPart[] = [];
  let last = 0;
  for (const match of template.matchAll(PLACEHOLDER)) {
    const expression = match[1] ?? '';
    if (match.index > last) parts.push({ text: template.slice(last, match.index) });
    last = match.index + match[0].length;
    const label = LABEL_REF.exec(expression)?.[1];
    if (label !== undefined) parts.push({ label });
    else if (expression === '$value') parts.push({ value: true });
    else if (expression === '$threshold') parts.push({ threshold: true });
    else return { problem: `unknown placeholder {{ ${expression} }}: use {{ $labels.<name> }}, {{ $value }} or {{ $threshold }}` };
  }
  const rest = template.slice(last);
  if (rest.includes('{{')) return { problem: 'a placeholder opened with {{ is not closed with }}' };
  if (rest.length > 0) parts.push({ text: rest });
  return { parts };
}

/**
 * One rule's summary, ready to fill in for each of its alerts: the threshold is the rule's and is filled in once;
 * what is left is text, then a hole (a label's name, or null for the value), text, and so on.
 */
export interface CompiledSummary {
  texts: string[];
  holes: (string | null)[];
}

export function compileSummary(parts: readonly SummaryPart[], threshold: number): CompiledSummary {
  const texts = [''];
  const holes: (string | null)[] = [];
  for (const part of parts) {
    if ('label' in part || 'value' in part) {
      holes.push('label' in part ? part.label : null);
      texts.push('');
    } else {
      texts[texts.length - 1] += 'text' in part ? part.text : formatValue(threshold);
    }
  }
  return { texts, holes };
}

/** The summary for one alert; a label the alert lacks is left empty. */
export function renderSummary(summary: CompiledSummary, labels: Readonly<Record<string, string>>, value: number | null): string {
  const { texts, holes } = summary;
  let text = texts[0]!;
  for (let h = 0; h < holes.length; h++) {
    const label = holes[h]!;
    text += label === null ? formatValue(value) : (labels[label] ?? '');
    text += texts[h + 1]!;
  }
  return text;
}

/** Short enough for a notification: whole numbers as they are, others to two decimals or three significant digits. */
export function formatValue(value: number | null): string {
  if (value === null) return 'no data';
  if (Number.isInteger(value)) return String(value);
  if (Math.abs(value) >= 1) {
    const hundredths = Math.round(value * 100);
    return Math.abs(hundredths) < MAX_EXACT_HUNDREDTHS ? twoDecimals(hundredths) : String(hundredths / 100);
  }
  return String(Number(value.toPrecision(3)));
}

/**
 * Below this many hundredths (values under 2^42), numbers a hundredth apart are some twenty doubles apart, so the
 * shortest text that reads back as `hundredths / 100` (what `String` writes) is those hundredths written out, their
 * trailing zeros dropped.
 */
const MAX_EXACT_HUNDREDTHS = 2 ** 48;

/** `String(hundredths / 100)` for a whole number of hundredths, without converting a fraction to text. */
function twoDecimals(hundredths: number): string {
  const sign = hundredths < 0 ? '-' : '';
  const magnitude = Math.abs(hundredths);
  const whole = Math.floor(magnitude / 100);
  const fraction = magnitude - whole * 100;
  if (fraction === 0) return sign + String(whole);
  if (fraction < 10) return `${sign}${whole}.0${fraction}`;
  return `${sign}${whole}.${fraction % 10 === 0 ? fraction / 10 : fraction}`;
}
