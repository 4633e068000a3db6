/**
 * Renders a Helm chart with a subset of Go templates and Sprig, enough for deploy/helm/kube-lbc:
 * `{{- -}}` trimming, comments, pipelines, parentheses, `.`/`$` field chains, `if`/`else if`/
 * `else`, `with`, `range` (lists and maps), `define`/`include`, and the functions below. There
 * is no helm binary on these machines; anything outside the subset throws, so a template that
 * uses more fails the test instead of rendering wrongly.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipe: string }
  | { kind: 'if' | 'with'; branches: { cond?: string; body: Node[] }[] }
  | { kind: 'range'; pipe: string; body: Node[] }
  | { kind: 'define'; name: string; body: Node[] };

export class TemplateFail extends Error {}

function tokenize(src: string): ({ text: string } | { action: string })[] {
  const out: ({ text: string } | { action: string })[] = [];
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    if (open < 0) {
      out.push({ text: src.slice(i) });
      break;
    }
    let text = src.slice(i, open);
    const close = src.indexOf('}}', open);
    if (close < 0) throw new Error('unclosed action');
    let action = src.slice(open + 2, close);
    if (action.startsWith('-')) {
      text = text.replace(/\s+$/, '');
      action = action.slice(1);
    }
    i = close + 2;
    if (action.endsWith('-')) {
      action = action.slice(0, -1);
      const rest = src.slice(i);
      i += rest.length - rest.replace(/^\s+/, '').length;
    }
    out.push({ text }, { action: action.trim() });
  }
  return out;
}

function parseNodes(tokens: ({ text: string } | { action: string })[]): Node[] {
  let pos = 0;
  const block = (stops: RegExp): { nodes: Node[]; stop: string } => {
    const nodes: Node[] = [];
    while (pos < tokens.length) {
      const t = tokens[pos++]!;
      if ('text' in t) {
        if (t.text) nodes.push({ kind: 'text', text: t.text });
        continue;
      }
      const a = t.action;
      if (a.startsWith('/*')) continue;
      if (stops.test(a)) return { nodes, stop: a };
      const m = /^(if|with|range|define)\s+(.*)$/s.exec(a);
      if (!m) {
        nodes.push({ kind: 'action', pipe: a });
        continue;
      }
      const [, kw, arg] = m as unknown as [string, string, string];
      if (kw === 'define' || kw === 'range') {
        const { nodes: body } = block(/^end$/);
        nodes.push(
          kw === 'define'
            ? { kind: 'define', name: JSON.parse(arg), body }
            : { kind: 'range', pipe: arg, body },
        );
        continue;
      }
      const branches: { cond?: string; body: Node[] }[] = [];
      let cond: string | undefined = arg;
      for (;;) {
        const { nodes: body, stop } = block(/^(else(\s+if\s+.*)?|end)$/s);
        branches.push({ cond, body });
        if (stop === 'end') break;
        cond = stop === 'else' ? undefined : stop.replace(/^else\s+if\s+/, '');
      }
      nodes.push({ kind: kw as 'if' | 'with', branches });
    }
    return { nodes, stop: '' };
  };
  return block(/^$^/).nodes;
}

const truthy = (v: unknown) =>
  !(
    v === undefined ||
    v === null ||
    v === false ||
    v === 0 ||
    v === '' ||
    (Array.isArray(v) && !v.length) ||
    (typeof v === 'object' && !Array.isArray(v) && !Object.keys(v as object).length)
  );

const toYaml = (v: unknown) =>
  v === undefined || v === null ? 'null' : stringify(v).replace(/\n$/, '');
const indent = (n: number, s: string) =>
  s
    .split('\n')
    .map((l) => ' '.repeat(n) + l)
    .join('\n');

export class Chart {
  readonly #defines = new Map<string, Node[]>();
  readonly #templates = new Map<string, Node[]>();
  #root: Record<string, unknown> = {};

  constructor(readonly dir: string) {
    for (const file of readdirSync(join(dir, 'templates')).sort()) {
      const nodes = parseNodes(tokenize(readFileSync(join(dir, 'templates', file), 'utf8')));
      for (const n of nodes) if (n.kind === 'define') this.#defines.set(n.name, n.body);
      if (/\.ya?ml$/.test(file)) this.#templates.set(file, nodes);
    }
  }

  /** Every template rendered with the chart's values.yaml overlaid by `values`, as YAML text. */
  render(
    values: Record<string, unknown>,
    release = { Name: 'kube-lbc', Namespace: 'kube-lbc-system' },
  ): Map<string, string> {
    const chart = parse(readFileSync(join(this.dir, 'Chart.yaml'), 'utf8')) as Record<
      string,
      unknown
    >;
    const defaults = parse(readFileSync(join(this.dir, 'values.yaml'), 'utf8')) as Record<
      string,
      unknown
    >;
    this.#root = {
      Values: merge(defaults, values),
      Release: { ...release, Service: 'Helm' },
      Chart: { Name: chart.name, Version: chart.version, AppVersion: chart.appVersion },
    };
    const out = new Map<string, string>();
    for (const [file, nodes] of this.#templates) out.set(file, this.#exec(nodes, this.#root));
    return out;
  }

  #exec(nodes: Node[], dot: unknown): string {
    let out = '';
    for (const n of nodes) {
      switch (n.kind) {
        case 'text':
          out += n.text;
          break;
        case 'action': {
          const v = this.#pipe(n.pipe, dot);
          out += v === undefined || v === null ? '' : String(v);
          break;
        }
        case 'if':
        case 'with': {
          for (const b of n.branches) {
            const v = b.cond === undefined ? true : this.#pipe(b.cond, dot);
            if (b.cond === undefined || truthy(v)) {
              out += this.#exec(b.body, n.kind === 'with' && b.cond !== undefined ? v : dot);
              break;
            }
          }
          break;
        }
        case 'range': {
          const v = this.#pipe(n.pipe, dot);
          const items = Array.isArray(v)
            ? v
            : v && typeof v === 'object'
              ? Object.keys(v)
                  .sort()
                  .map((k) => (v as Record<string, unknown>)[k])
              : [];
          for (const item of items) out += this.#exec(n.body, item);
          break;
        }
        case 'define':
          break;
      }
    }
    return out;
  }

  #pipe(src: string, dot: unknown): unknown {
    let value: unknown;
    let first = true;
    for (const cmd of splitTop(src, '|')) {
      const args = words(cmd.trim());
      value = this.#call(args, dot, first ? [] : [value]);
      first = false;
    }
    return value;
  }

  #arg(word: string, dot: unknown): unknown {
    if (word.startsWith('(')) return this.#pipe(word.slice(1, -1), dot);
    if (word.startsWith('"')) return JSON.parse(word);
    if (/^-?\d+(\.\d+)?$/.test(word)) return Number(word);
    if (word === 'true' || word === 'false') return word === 'true';
    if (word === 'nil') return undefined;
    if (word === '.') return dot;
    if (word.startsWith('.') || word.startsWith('$')) {
      let v: unknown = word.startsWith('$') ? this.#root : dot;
      for (const key of word.replace(/^\$/, '').split('.').filter(Boolean)) {
        v = v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
      }
      return v;
    }
    throw new Error(`template: unknown word ${word}`);
  }

  #call(words: string[], dot: unknown, piped: unknown[]): unknown {
    const [head, ...rest] = words;
    const fn = FUNCS[head!];
    if (!fn && head !== 'include') {
      if (rest.length || piped.length) throw new Error(`template: unknown function ${head}`);
      return this.#arg(head!, dot);
    }
    const args = [...rest.map((w) => this.#arg(w, dot)), ...piped];
    if (head === 'include') {
      const body = this.#defines.get(args[0] as string);
      if (!body) throw new Error(`template: no define ${args[0]}`);
      return this.#exec(body, args[1]);
    }
    return fn!(...args);
  }
}

const FUNCS: Record<string, (...a: any[]) => unknown> = {
  quote: (...a) =>
    a.map((v) => JSON.stringify(v === undefined || v === null ? '' : String(v))).join(' '),
  toYaml,
  nindent: (n: number, s: string) => '\n' + indent(n, s),
  indent: (n: number, s: string) => indent(n, s),
  default: (d: unknown, v: unknown) => (truthy(v) ? v : d),
  required: (msg: string, v: unknown) => {
    if (!truthy(v)) throw new TemplateFail(msg);
    return v;
  },
  fail: (msg: string) => {
    throw new TemplateFail(msg);
  },
  sha256sum: (s: string) => createHash('sha256').update(s).digest('hex'),
  trunc: (n: number, s: string) => s.slice(0, n),
  trimSuffix: (suffix: string, s: string) => (s.endsWith(suffix) ? s.slice(0, -suffix.length) : s),
  contains: (needle: string, s: string) => s.includes(needle),
  printf: (f: string, ...a: unknown[]) => f.replace(/%[sdv]/g, () => String(a.shift())),
  eq: (a: unknown, b: unknown) => a === b,
  ne: (a: unknown, b: unknown) => a !== b,
  not: (a: unknown) => !truthy(a),
  and: (...a: unknown[]) => a.reduce((x, y) => (truthy(x) ? y : x)),
  or: (...a: unknown[]) => a.find(truthy) ?? a.at(-1),
  empty: (a: unknown) => !truthy(a),
  int: (a: unknown) => Math.trunc(Number(a)),
};

function splitTop(src: string, sep: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let inStr = false;
  let cur = '';
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (inStr) {
      if (c === '\\') cur += c + src[++i];
      else {
        if (c === '"') inStr = false;
        cur += c;
      }
      continue;
    }
    if (c === '"') inStr = true;
    if (c === '(') depth++;
    if (c === ')') depth--;
    if (c === sep && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  parts.push(cur);
  return parts;
}

function words(src: string): string[] {
  return splitTop(src.replace(/\s+/g, ' '), ' ').filter(Boolean);
}

function merge(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      v &&
      typeof v === 'object' &&
      !Array.isArray(v) &&
      b &&
      typeof b === 'object' &&
      !Array.isArray(b)
        ? merge(b as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}
