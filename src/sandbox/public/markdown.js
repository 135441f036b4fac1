// @ts-check
/**
 * A small, safe renderer for the markdown CDS Hooks cards carry (CDS Hooks 2.0: "GitHub Flavored
 * Markdown"): paragraphs, ATX headings, bold, italics, code spans, links, nested bullet and numbered
 * lists, thematic breaks and backslash escapes. Anything else shows as text.
 *
 * Safety: the input is untrusted. Every piece of text is HTML-escaped before any tag is added, the
 * tags come only from this file, and a link keeps its href only for http(s), a same-origin path or
 * a fragment (no javascript:, data:, protocol-relative). The page's CSP backs this up.
 */

const OPEN = '\uE000';
const CLOSE = '\uE001';
const TOKEN = /\uE000(\d+)\uE001/g;
/** CommonMark's escapable ASCII punctuation, the subset a card uses. */
const ESCAPE = /\\([\\`*_{}[\]()#+\-.!<>|~"'])/g;
const HEADING = /^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/;
const RULE = /^ {0,3}(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})$/;
const LIST_ITEM = /^([ \t]*)([-*+]|(\d{1,9})[.)])[ \t]+(.*)$/;

/** @param {string} s @returns {string} */
export function escapeHtml(s) {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * An href this page may render, or undefined. Judged on the raw URL, before escaping.
 * @param {string} url
 * @returns {string | undefined}
 */
export function safeHref(url) {
  const u = url.trim();
  if (/^https?:\/\/[^\s/\\]/i.test(u) || /^\/(?![/\\])/.test(u) || u.startsWith("#")) {
    return u;
  }
  return undefined;
}

/**
 * Inline markdown of one block of text -> HTML.
 * @param {string} text
 * @returns {string}
 */
export function renderInline(text) {
  /** @type {string[]} */
  const tokens = [];
  /** @param {string} html */
  const keep = (html) => `${OPEN}${tokens.push(html) - 1}${CLOSE}`;
  let s = text.replace(/[\uE000\uE001]/g, '');
  s = s.replace(ESCAPE, (_m, /** @type {string} */ c) => keep(escapeHtml(c)));
  s = s.replace(/`([^`]+)`/g, (_m, /** @type {string} */ code) => keep(`<code>${escapeHtml(code)}</code>`));
  s = s.replace(/\[([^\]]+)\]\(([^()\s]+)\)/g, (_m, /** @type {string} */ label, /** @type {string} */ url) => {
    const href = safeHref(url);
    return href ? `${keep(`<a href="${escapeHtml(href)}">`)}${label}${keep('</a>')}` : label;
  });
  s = escapeHtml(s);
  s = s.replace(/\*\*(?=\S)([\s\S]*?\S)\*\*/g, '<strong>$1</strong>');
  s = s.replace(/(^|[^\w])__(?=\S)([\s\S]*?\S)__(?!\w)/g, '$1<strong>$2</strong>');
  s = s.replace(/\*(?=\S)([^*]*?\S)\*/g, '<em>$1</em>');
  s = s.replace(/(^|[^\w])_(?=\S)([^_]*?\S)_(?!\w)/g, '$1<em>$2</em>');
  // Tokens may hold tokens (an escape inside a code span): restore until none is left.
  for (let i = 0; i < 4 && s.includes(OPEN); i++) {
    s = s.replace(TOKEN, (_m, n) => tokens[Number(n)] ?? '');
  }
  return s;
}

/**
 * @typedef {{ readonly tag: 'ul' | 'ol', readonly indent: number }} OpenList
 * @typedef {{ readonly minHeadingLevel?: number }} MarkdownOptions
 */

/**
 * Markdown -> HTML string, safe to assign to innerHTML.
 * @param {string} markdown
 * @param {MarkdownOptions} [opts] minHeadingLevel: `#` renders at least at this level, so a card's
 *   headings sit below the page's own.
 * @returns {string}
 */
export function renderMarkdown(markdown, opts = {}) {
  const minLevel = Math.min(6, Math.max(1, opts.minHeadingLevel ?? 1));
  /** @type {string[]} */
  const out = [];
  /** @type {string[]} */
  let paragraph = [];
  /** @type {OpenList[]} */
  const lists = [];

  const flushParagraph = () => {
    if (paragraph.length) {
      out.push(`<p>${paragraph.map(renderInline).join('<br>')}</p>`);
      paragraph = [];
    }
  };
  /** @param {number} [indent] close lists deeper than this; all when undefined */
  const closeLists = (indent) => {
    for (let top = lists.at(-1); top && (indent === undefined || top.indent > indent); top = lists.at(-1)) {
      lists.pop();
      out.push(`</li></${top.tag}>`);
    }
  };

  for (const line of markdown.replace(/\r\n?/g, '\n').split('\n')) {
    if (line.trim() === '') {
      flushParagraph();
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      flushParagraph();
      closeLists();
      const level = Math.min(6, Math.max(minLevel, heading[1]?.length ?? 1));
      out.push(`<h${level}>${renderInline(heading[2] ?? '')}</h${level}>`);
      continue;
    }
    if (RULE.test(line)) {
      flushParagraph();
      closeLists();
      out.push('<hr>');
      continue;
    }
    const item = LIST_ITEM.exec(line);
    if (item) {
      flushParagraph();
      const indent = (item[1] ?? '').replace(/\t/g, '    ').length;
      const tag = item[3] === undefined ? 'ul' : 'ol';
      closeLists(indent);
      const top = lists.at(-1);
      if (top?.indent === indent && top.tag !== tag) {
        closeLists(indent - 1);
      }
      const current = lists.at(-1);
      if (!current || current.indent < indent) {
        const start = item[3] !== undefined && Number(item[3]) !== 1 ? ` start="${Number(item[3])}"` : '';
        out.push(`<${tag}${start}>`);
        lists.push({ tag, indent });
      } else {
        out.push('</li>');
      }
      out.push(`<li>${renderInline(item[4] ?? '')}`);
      continue;
    }
    if (lists.length && /^[ \t]/.test(line)) {
      out.push(` ${renderInline(line.trim())}`);
      continue;
    }
    closeLists();
    paragraph.push(line.trim());
  }
  flushParagraph();
  closeLists();
  return out.join('\n');
}
