/**
 * Sets one top-level key of a JSON object held as text (a 2-space-indented file such as a model
 * manifest), leaving every other byte as it was: the training pipeline writes the manifest, and
 * tools that add a section (risk bands, leave-one-source-out figures) must not reformat its numbers.
 */

/** Index just past the string literal that starts at `open` (a `"`). */
function stringEnd(text: string, open: number): number {
  for (let i = open + 1; i < text.length; i++) {
    if (text[i] === '\\') {
      i++;
    } else if (text[i] === '"') {
      return i + 1;
    }
  }
  throw new Error('unterminated string in JSON text');
}

/** Index just past the JSON value that starts at `start`, trailing whitespace excluded. */
function valueEnd(text: string, start: number): number {
  let depth = 0;
  let i = start;
  let last = start;
  while (i < text.length) {
    const c = text[i] ?? '';
    if (c === '"') {
      i = stringEnd(text, i);
      last = i;
      if (depth === 0) {
        return i;
      }
      continue;
    }
    if (c === '{' || c === '[') {
      depth++;
    } else if (c === '}' || c === ']') {
      if (depth === 0) {
        return last;
      }
      depth--;
      if (depth === 0) {
        return i + 1;
      }
    } else if (c === ',' && depth === 0) {
      return last;
    }
    if (!/\s/.test(c)) {
      last = i + 1;
    }
    i++;
  }
  return last;
}

/** Where the value of top-level `key` lies in `text`, or undefined when the object has no such key. */
function topLevelValue(text: string, key: string): { start: number; end: number } | undefined {
  let depth = 0;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      const close = stringEnd(text, i);
      let j = close;
      while (/\s/.test(text[j] ?? '')) {
        j++;
      }
      if (depth === 1 && text[j] === ':' && JSON.parse(text.slice(i, close)) === key) {
        let start = j + 1;
        while (/\s/.test(text[start] ?? '')) {
          start++;
        }
        return { start, end: valueEnd(text, start) };
      }
      i = close;
      continue;
    }
    if (c === '{' || c === '[') {
      depth++;
    } else if (c === '}' || c === ']') {
      depth--;
    }
    i++;
  }
  return undefined;
}

/**
 * `text` with top-level `key` set to `value` (2-space JSON, indented as a top-level member): the
 * value replaced where the key is, or the key appended as the object's last member.
 */
export function withTopLevelKey(text: string, key: string, value: unknown): string {
  const json = JSON.stringify(value, null, 2).replace(/\n/g, '\n  ');
  const at = topLevelValue(text, key);
  if (at) {
    return `${text.slice(0, at.start)}${json}${text.slice(at.end)}`;
  }
  const close = text.lastIndexOf('}');
  if (close < 0) {
    throw new Error('not a JSON object');
  }
  const body = text.slice(0, close).replace(/\s*$/, '');
  const empty = body.endsWith('{');
  return `${body}${empty ? '' : ','}\n  ${JSON.stringify(key)}: ${json}\n}${text.slice(close + 1)}`;
}
