import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { writeCardDetail } from '../../src/cards/card-detail.ts';
import { PROJECT_ROOT } from '../../src/config.ts';
import { buildTriageReport } from '../../src/report/build-triage-report.ts';
import { highImage, image, lowImage, reportInput } from '../report/fixtures.ts';

/** The page's renderer is plain browser JavaScript; it is pure, so Node runs it as it is served. */
interface MarkdownModule {
  renderMarkdown(markdown: string, opts?: { readonly minHeadingLevel?: number }): string;
  renderInline(text: string): string;
  safeHref(url: string): string | undefined;
}
const md: MarkdownModule = await import(pathToFileURL(resolve(PROJECT_ROOT, 'src/sandbox/public/markdown.js')).href);

describe('card markdown renderer', () => {
  it('escapes HTML before adding any tag', () => {
    assert.equal(md.renderMarkdown('<script>alert(1)</script>'), '<p>&#60;script&#62;alert(1)&#60;/script&#62;</p>');
    assert.equal(md.renderInline('**<img src=x onerror=alert(1)>**'), '<strong>&#60;img src=x onerror=alert(1)&#62;</strong>');
    assert.equal(md.renderInline('`<b>` & "q" \'s\''), '<code>&#60;b&#62;</code> &#38; &#34;q&#34; &#39;s&#39;');
  });

  it('keeps a link only for http(s), a same-origin path or a fragment', () => {
    assert.equal(md.renderInline('[card](https://x.org/model-card)'), '<a href="https://x.org/model-card">card</a>');
    assert.equal(md.renderInline('[card](/model-card)'), '<a href="/model-card">card</a>');
    for (const bad of ['javascript:alert%281%29', 'JaVaScRiPt:void0', 'data:text/html;base64,PHNjcmlwdD4=', '//evil.example/x', 'vbscript:x', '/\\evil.example']) {
      assert.equal(md.renderInline(`[click](${bad})`), 'click', bad);
    }
    // Not a link at all (the URL may not hold parentheses): plain, escaped text.
    assert.equal(md.renderInline('[click](javascript:alert(1))'), '[click](javascript:alert(1))');
    // Quotes in a URL cannot end the attribute; markup in the label stays text.
    assert.equal(md.renderInline('[<i>x</i>](https://x.org/a"onmouseover="b)'), '<a href="https://x.org/a&#34;onmouseover=&#34;b">&#60;i&#62;x&#60;/i&#62;</a>');
    assert.equal(md.renderInline('[**bold** link](https://x.org/*a*)'), '<a href="https://x.org/*a*"><strong>bold</strong> link</a>');
  });

  it('renders headings (no higher than asked), emphasis, escapes, rules and nested lists', () => {
    assert.equal(md.renderMarkdown('#### Image 1', { minHeadingLevel: 4 }), '<h4>Image 1</h4>');
    assert.equal(md.renderMarkdown('# Top', { minHeadingLevel: 4 }), '<h4>Top</h4>');
    assert.equal(md.renderInline('*it* and _it_ but snake_case_name and 2 * 3 * 4'), '<em>it</em> and <em>it</em> but snake_case_name and 2 * 3 * 4');
    assert.equal(md.renderInline('\\*not italic\\* \\[not a link\\](x) \\<b\\>'), '*not italic* [not a link](x) &#60;b&#62;');
    assert.equal(md.renderMarkdown('a\n\n---\n\nb'), '<p>a</p>\n<hr>\n<p>b</p>');
    assert.equal(
      md.renderMarkdown('- **Why:**\n  1. first\n  2. second\n- next\n\nafter'),
      ['<ul>', '<li><strong>Why:</strong>', '<ol>', '<li>first', '</li>', '<li>second', '</li></ol>', '</li>', '<li>next', '</li></ul>', '<p>after</p>'].join('\n'),
    );
    assert.equal(md.renderMarkdown('3. three\n4. four'), '<ol start="3">\n<li>three\n</li>\n<li>four\n</li></ol>');
  });

  it("renders the service's own card detail with no markdown left over, and a hostile label as text", () => {
    const hostile = image(2, highImage(2).result, '<img src=x onerror=alert(1)> *x* [y](javascript:z)');
    const detail = writeCardDetail(buildTriageReport(reportInput([highImage(1), hostile, lowImage(3)])), { modelCardUrl: 'https://cds.example/model-card' });
    const html = md.renderMarkdown(detail, { minHeadingLevel: 4 });
    assert.doesNotMatch(html, /\*\*|####|<img|<script|href="(?!https:)/i);
    assert.match(html, /<h4>Image 2: &#60;img src=x onerror=alert\(1\)&#62; \*x\* \[y\]\(javascript:z\)<\/h4>/);
    assert.match(html, /<a href="https:\/\/cds\.example\/model-card">model card<\/a>/);
    assert.equal((html.match(/<h4>/g) ?? []).length, 3);
  });
});
