// A strict parser of the Prometheus text exposition format (0.0.4), for tests: it throws on any line it cannot read,
// where the one npm parser (parse-prometheus-text-format) skips bad lines silently and merges labelled histograms.
// Follows https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format.

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  /** The sample's own name: for a histogram `x`, one of `x_bucket`, `x_sum`, `x_count`. */
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const SUFFIXES: Record<MetricType, string[]> = {
  counter: [''],
  gauge: [''],
  untyped: [''],
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
};

export class PrometheusParseError extends Error {
  constructor(lineNumber: number, line: string, problem: string) {
    super(`line ${lineNumber}: ${problem}: ${JSON.stringify(line)}`);
  }
}

/** Parses a whole exposition; the families by name. */
export function parsePrometheusText(text: string): Map<string, MetricFamily> {
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('the exposition must end with a line feed');
  const families = new Map<string, MetricFamily>();
  const family = (name: string) => {
    let found = families.get(name);
    if (!found) families.set(name, (found = { name, help: '', type: 'untyped', samples: [] }));
    return found;
  };
  const seen = new Set<string>();
  const lines = text.split('\n').slice(0, -1);
  lines.forEach((line, index) => {
    const fail = (problem: string): never => {
      throw new PrometheusParseError(index + 1, line, problem);
    };
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const meta = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (!meta) return; // any other comment
      const [, keyword, name, rest = ''] = meta;
      if (!NAME.test(name!)) fail('bad metric name');
      const target = family(name!);
      if (target.samples.length > 0) fail(`${keyword} after the samples of ${name}`);
      if (keyword === 'HELP') target.help = unescape(rest, false, fail);
      else if (TYPES.has(rest as MetricType)) target.type = rest as MetricType;
      else fail('unknown type');
      return;
    }
    const sample = parseSample(line, fail);
    const owner = [...families.values()].find((candidate) =>
      SUFFIXES[candidate.type].some((suffix) => candidate.name + suffix === sample.name),
    );
    const target = owner ?? family(sample.name);
    if (target.type === 'histogram' && sample.name.endsWith('_bucket') && sample.labels.le === undefined) fail('a bucket without le');
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    if (seen.has(key)) fail('a repeated series');
    seen.add(key);
    target.samples.push(sample);
  });
  return families;
}

function parseSample(line: string, fail: (problem: string) => never): Sample {
  const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0] ?? fail('no metric name');
  let at = name.length;
  const labels: Record<string, string> = {};
  if (line[at] === '{') {
    at += 1;
    while (line[at] !== '}') {
      const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(at))?.[0] ?? fail('bad label name');
      at += labelName.length;
      if (line.slice(at, at + 2) !== '="') fail(`no ="..." after label ${labelName}`);
      at += 2;
      let raw = '';
      while (line[at] !== '"') {
        if (at >= line.length) fail('unterminated label value');
        if (line[at] === '\\') raw += line[at++];
        raw += line[at++];
      }
      at += 1;
      if (!LABEL_NAME.test(labelName) || labelName.startsWith('__')) fail(`reserved or bad label name ${labelName}`);
      if (labelName in labels) fail(`label ${labelName} twice`);
      labels[labelName] = unescape(raw, true, fail);
      if (line[at] === ',') at += 1;
      else if (line[at] !== '}') fail('expected , or } after a label');
    }
    at += 1;
  }
  const rest = line.slice(at);
  const fields = /^ +(\S+)(?: +(-?\d+))? *$/.exec(rest) ?? fail('expected a value and an optional timestamp');
  return { name, labels, value: parseValue(fields[1]!, fail) };
}

/** A value as Prometheus reads it (Go's ParseFloat): NaN and Inf in any case (prom-client writes "Nan"). */
function parseValue(text: string, fail: (problem: string) => never): number {
  const lower = text.toLowerCase();
  if (lower === '+inf' || lower === 'inf') return Infinity;
  if (lower === '-inf') return -Infinity;
  if (lower === 'nan') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) fail(`bad value ${text}`);
  return Number(text);
}

function unescape(raw: string, quoted: boolean, fail: (problem: string) => never): string {
  return raw.replace(/\\(.)/g, (_all, escaped: string) => {
    if (escaped === 'n') return '\n';
    if (escaped === '\\') return '\\';
    if (escaped === '"' && quoted) return '"';
    return fail(`bad escape \\${escaped}`);
  });
}
