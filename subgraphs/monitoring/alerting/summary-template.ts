// Alert summaries with Prometheus-style placeholders: `{{ $labels.node }}`, `{{ $value }}`, `{{ $threshold }}`.
// Parsed once per rule and round, then filled in for each alert.

/** A parsed summary: literal text, and the placeholders between. */
export type SummaryPart = { text: string } | { label: string } | { value: true } | { threshold: true };

const PLACEHOLDER = /\{\{\s*([^}]*?)\s*\}\}/g;
const LABEL_REF = /^\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)$/;

/** The parts of a summary, or a problem naming the placeholder it does not know. */
export function parseSummary(template: string): { parts: SummaryPart[] } | { problem: string } {
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

/** The summary for one alert; a label the alert lacks is left empty. */
export function renderSummary(parts: readonly SummaryPart[], labels: Readonly<Record<string, string>>, value: number | null, threshold: number): string {
  let text = '';
  for (const part of parts) {
    if ('text' in part) text += part.text;
    else if ('label' in part) text += labels[part.label] ?? '';
    else if ('value' in part) text += formatValue(value);
    else text += formatValue(threshold);
  }
  return text;
}

/** Short enough for a notification: whole numbers as they are, others to two decimals or three significant digits. */
export function formatValue(value: number | null): string {
  if (value === null) return 'no data';
  if (Number.isInteger(value)) return String(value);
  if (Math.abs(value) >= 1) return String(Math.round(value * 100) / 100);
  return String(Number(value.toPrecision(3)));
}
