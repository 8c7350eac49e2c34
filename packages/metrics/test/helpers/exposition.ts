/** A minimal parser of the Prometheus text exposition format (0.0.4), for tests. */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type?: string;
  help?: string;
  samples: Sample[];
}

/** Parsed exposition: families by name (histogram series belong to their base name). */
export class Exposition {
  readonly families = new Map<string, Family>();
  readonly samples: Sample[] = [];

  /** The one sample with this name whose labels equal `labels` exactly; undefined when absent. */
  get(name: string, labels: Record<string, string> = {}): number | undefined {
    const found = this.samples.filter((s) => s.name === name && sameLabels(s.labels, labels));
    if (found.length > 1)
      throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
    return found[0]?.value;
  }

  /** Like {@link get} but fails when the sample is absent. */
  value(name: string, labels: Record<string, string> = {}): number {
    const v = this.get(name, labels);
    if (v === undefined) throw new Error(`no sample ${name}${JSON.stringify(labels)}`);
    return v;
  }

  /** Samples with this name whose labels include `labels`. */
  select(name: string, labels: Record<string, string> = {}): Sample[] {
    return this.samples.filter(
      (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    );
  }

  /** Sum of {@link select}. */
  sum(name: string, labels: Record<string, string> = {}): number {
    return this.select(name, labels).reduce((acc, s) => acc + s.value, 0);
  }
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'];

/** Parses the text format; throws on anything malformed, so a test fails on a broken exposition. */
export function parseExposition(text: string): Exposition {
  const out = new Exposition();
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (const [i, line] of lines.entries()) {
    const where = `line ${i + 1}: ${JSON.stringify(line)}`;
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) ?(.*)$/.exec(line);
      if (m === null) continue; // a comment
      const family = familyOf(out, m[2]);
      if (m[1] === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(m[3])) {
          throw new Error(`bad type at ${where}`);
        }
        family.type = m[3];
      } else family.help = m[3];
      continue;
    }
    const name = NAME.exec(line)?.[0];
    if (name === undefined) throw new Error(`bad metric name at ${where}`);
    let rest = line.slice(name.length);
    const labels: Record<string, string> = {};
    if (rest.startsWith('{')) {
      rest = rest.slice(1);
      while (!rest.startsWith('}')) {
        const label = LABEL_NAME.exec(rest)?.[0];
        if (label === undefined || rest[label.length] !== '=' || rest[label.length + 1] !== '"') {
          throw new Error(`bad label at ${where}`);
        }
        rest = rest.slice(label.length + 2);
        let value = '';
        for (;;) {
          const c = rest[0];
          if (c === undefined) throw new Error(`unterminated label value at ${where}`);
          rest = rest.slice(1);
          if (c === '"') break;
          if (c === '\\') {
            const e = rest[0];
            rest = rest.slice(1);
            value += e === 'n' ? '\n' : e;
          } else value += c;
        }
        if (label in labels) throw new Error(`duplicate label ${label} at ${where}`);
        labels[label] = value;
        if (rest.startsWith(',')) rest = rest.slice(1);
        else if (!rest.startsWith('}')) throw new Error(`bad label list at ${where}`);
      }
      rest = rest.slice(1);
    }
    const fields = rest.trim().split(/\s+/);
    if (!rest.startsWith(' ') || fields.length < 1 || fields.length > 2)
      throw new Error(`bad value at ${where}`);
    const value = parseValue(fields[0]);
    if (value === undefined) throw new Error(`bad value at ${where}`);
    const sample = { name, labels, value };
    out.samples.push(sample);
    familyOf(out, baseName(out, name)).samples.push(sample);
  }
  return out;
}

function familyOf(out: Exposition, name: string): Family {
  let family = out.families.get(name);
  if (family === undefined) {
    family = { name, samples: [] };
    out.families.set(name, family);
  }
  return family;
}

function baseName(out: Exposition, name: string): string {
  for (const suffix of HISTOGRAM_SUFFIXES) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length);
      const type = out.families.get(base)?.type;
      if (type === 'histogram' || type === 'summary') return base;
    }
  }
  return name;
}

function parseValue(text: string): number | undefined {
  // Prometheus parses floats with Go's strconv.ParseFloat: special values in any case (prom-client writes "Nan")
  const special = text.toLowerCase();
  if (special === '+inf' || special === 'inf') return Infinity;
  if (special === '-inf') return -Infinity;
  if (special === 'nan') return NaN;
  const v = Number(text);
  return text !== '' && !Number.isNaN(v) ? v : undefined;
}

/** Fetches a metrics endpoint and parses it; checks the status and the content type. */
export async function scrape(
  url: string,
  contentType = 'text/plain; version=0.0.4; charset=utf-8',
): Promise<Exposition> {
  const res = await fetch(url);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${text}`);
  const type = res.headers.get('content-type');
  if (type !== contentType) throw new Error(`GET ${url}: content-type ${type}, expected ${contentType}`);
  return parseExposition(text);
}
