/**
 * Label and field selectors with apimachinery's grammar (`labels.Parse`, `fields.ParseSelector`):
 * `a=b,c!=d,e in (x,y),f notin (z),g,!h` for labels; `metadata.name=web,spec.type!=ClusterIP` for
 * fields. A bad selector is a 400, as the real server answers.
 */
import { badRequest } from './errors.js';

type LabelOp = 'in' | 'notin' | 'exists' | '!' | 'gt' | 'lt';
interface LabelRequirement {
  key: string;
  op: LabelOp;
  values: string[];
}

export type Matcher = (labels: Record<string, string> | undefined) => boolean;

const QUALIFIED_NAME =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function tokenize(input: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (input.startsWith('==', i) || input.startsWith('!=', i)) {
      tokens.push(input.slice(i, i + 2));
      i += 2;
    } else if ('=!(),<>'.includes(c)) {
      tokens.push(c);
      i++;
    } else {
      let j = i;
      while (j < input.length && !/[\s=!(),<>]/.test(input[j]!)) j++;
      tokens.push(input.slice(i, j));
      i = j;
    }
  }
  return tokens;
}

function parseLabelSelector(input: string): LabelRequirement[] {
  const tokens = tokenize(input);
  const reqs: LabelRequirement[] = [];
  let pos = 0;
  const fail = (why: string): never => {
    throw badRequest(`unable to parse requirement: ${why}`);
  };
  const checkKey = (key: string) => {
    if (!QUALIFIED_NAME.test(key) || key.split('/').pop()!.length > 63)
      fail(`invalid label key "${key}"`);
  };
  const checkValue = (v: string) => {
    if (v.length > 63 || !LABEL_VALUE.test(v)) fail(`invalid label value: "${v}"`);
  };
  while (pos < tokens.length) {
    let tok = tokens[pos++]!;
    if (tok === '!') {
      const key = tokens[pos++] ?? fail('missing key after !');
      checkKey(key);
      reqs.push({ key, op: '!', values: [] });
    } else {
      checkKey(tok);
      const key = tok;
      const op = tokens[pos];
      if (op === undefined || op === ',') {
        reqs.push({ key, op: 'exists', values: [] });
      } else if (op === '=' || op === '==' || op === '!=') {
        pos++;
        let value = tokens[pos];
        if (value === undefined || value === ',') value = '';
        else pos++;
        checkValue(value);
        reqs.push({ key, op: op === '!=' ? 'notin' : 'in', values: [value] });
      } else if (op === 'in' || op === 'notin') {
        pos++;
        if (tokens[pos++] !== '(') fail(`found '${tokens[pos - 1] ?? ''}', expected: '('`);
        const values: string[] = [];
        while (tokens[pos] !== ')') {
          tok = tokens[pos++] ?? fail("found '', expected: ')'");
          if (tok === ',') continue;
          checkValue(tok);
          values.push(tok);
        }
        pos++;
        reqs.push({ key, op, values });
      } else if (op === '>' || op === '<') {
        pos++;
        const value = tokens[pos++] ?? fail('missing value');
        if (!/^-?\d+$/.test(value)) fail(`for 'Gt', 'Lt' operators, the value must be an integer`);
        reqs.push({ key, op: op === '>' ? 'gt' : 'lt', values: [value] });
      } else {
        fail(`found '${op}', expected: ',' or 'end of string'`);
      }
    }
    if (pos < tokens.length) {
      if (tokens[pos] !== ',') fail(`found '${tokens[pos]}', expected: ',' or 'end of string'`);
      pos++;
    }
  }
  return reqs;
}

export function labelMatcher(selector: string | undefined): Matcher {
  if (!selector) return () => true;
  const reqs = parseLabelSelector(selector);
  return (labels) =>
    reqs.every(({ key, op, values }) => {
      const has = labels !== undefined && Object.prototype.hasOwnProperty.call(labels, key);
      const v = has ? labels![key]! : undefined;
      switch (op) {
        case 'in':
          return has && values.includes(v!);
        case 'notin':
          return !has || !values.includes(v!);
        case 'exists':
          return has;
        case '!':
          return !has;
        case 'gt':
          return has && /^-?\d+$/.test(v!) && Number(v) > Number(values[0]);
        case 'lt':
          return has && /^-?\d+$/.test(v!) && Number(v) < Number(values[0]);
      }
    });
}

interface FieldRequirement {
  field: string;
  equal: boolean;
  value: string;
}

function splitUnescaped(s: string, sep: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && i + 1 < s.length) {
      cur += s[i]! + s[i + 1]!;
      i++;
    } else if (s[i] === sep) {
      parts.push(cur);
      cur = '';
    } else cur += s[i];
  }
  parts.push(cur);
  return parts;
}

const unescape = (s: string) => s.replace(/\\(.)/g, '$1');

export function parseFieldSelector(selector: string | undefined): FieldRequirement[] {
  if (!selector) return [];
  return splitUnescaped(selector, ',')
    .filter((term) => term.length > 0)
    .map((term) => {
      const m = /^((?:[^\\=!]|\\.)*)(!=|==|=)(.*)$/.exec(term);
      if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${term}'`);
      return { field: m[1]!.trim(), equal: m[2] !== '!=', value: unescape(m[3]!) };
    });
}

/**
 * A field matcher for one resource: `known` lists the fields it supports (anything else is a
 * 400 naming them), `rename` maps a version's label to the stored form's.
 */
export function fieldMatcher(
  selector: string | undefined,
  known: string[],
  rename: (label: string) => string = (l) => l,
): (fields: Record<string, string>) => boolean {
  const reqs = parseFieldSelector(selector).map((r) => ({ ...r, field: rename(r.field) }));
  for (const r of reqs) {
    if (!known.includes(r.field)) {
      const only = known.map((k) => JSON.stringify(k)).join(', ');
      throw badRequest(`${JSON.stringify(r.field)} is not a known field selector: only ${only}`);
    }
  }
  return (fields) => reqs.every((r) => (fields[r.field] === r.value) === r.equal);
}

/** `metadata.name=x` pinned by a selector, which lets a watch or list narrow to one object. */
export function selectedName(selector: string | undefined): string | undefined {
  return parseFieldSelector(selector).find((r) => r.field === 'metadata.name' && r.equal)?.value;
}
