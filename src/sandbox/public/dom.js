// @ts-check
/**
 * Builds DOM nodes from data without ever parsing it as HTML: text goes in as text nodes,
 * attributes through setAttribute, and event-handler attributes are refused (listeners are added
 * with addEventListener by the callers).
 */

/** @typedef {Node | string | number | null | undefined | false} Child */

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Readonly<Record<string, string | number | boolean | undefined>>} [attrs] false/undefined: not set; true: set empty
 * @param {...(Child | readonly Child[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (/^on/i.test(name)) {
      throw new Error(`h(): event handler attribute ${name} refused; use addEventListener`);
    }
    if (value === undefined || value === false) {
      continue;
    }
    el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

/**
 * @param {Element} el
 * @param {readonly (Child | readonly Child[])[]} children
 */
function append(el, children) {
  for (const c of children) {
    if (Array.isArray(c)) {
      append(el, c);
    } else if (c instanceof Node) {
      el.append(c);
    } else if (typeof c === 'string' || typeof c === 'number') {
      el.append(document.createTextNode(String(c)));
    }
  }
}

/**
 * The element with this id, or an error naming it: the page's skeleton is fixed, so a miss is a bug.
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} type
 * @returns {T}
 */
export function byId(id, type) {
  const el = document.getElementById(id);
  if (!(el instanceof type)) {
    throw new Error(`#${id} is missing or not a ${type.name}`);
  }
  return el;
}

/**
 * A link only when the URL is http(s) or a same-origin path; otherwise the label as text.
 * @param {string} label
 * @param {string | undefined} url
 * @param {{ newTab?: boolean }} [opts]
 * @returns {HTMLElement}
 */
export function safeLink(label, url, opts = {}) {
  const ok = url !== undefined && (/^https?:\/\/[^\s/\\]/i.test(url) || /^\/(?![/\\])/.test(url));
  if (!ok) {
    return h('span', {}, label);
  }
  return h('a', { href: url, ...(opts.newTab ? { target: '_blank', rel: 'noopener noreferrer' } : {}) }, label);
}

/**
 * Sets a status line's text (role=status regions are announced when their text changes).
 * @param {HTMLElement} el
 * @param {string} text
 * @param {'ok' | 'error' | 'busy'} [kind]
 */
export function say(el, text, kind = 'ok') {
  el.textContent = text;
  el.dataset.kind = kind;
}
