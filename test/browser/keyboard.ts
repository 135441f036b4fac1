/**
 * Keyboard-only moves for the accessibility tests: Tab (or Shift+Tab) until the focused element
 * matches, as a person who cannot use a mouse gets there. No clicks, no element.focus().
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';

/** What has the focus, in words for failure messages. */
export async function focusedElement(page: Page): Promise<string> {
  return page.evaluate(`(() => { const el = document.activeElement; return el ? el.outerHTML.slice(0, 160) : 'nothing'; })()`);
}

/** True when the focused element matches the CSS selector. */
export async function focusMatches(page: Page, selector: string): Promise<boolean> {
  return page.evaluate(`!!document.activeElement && document.activeElement.matches(${JSON.stringify(selector)})`);
}

/** The focused element's text. */
export async function focusedText(page: Page): Promise<string> {
  return page.evaluate(`document.activeElement?.textContent ?? ''`);
}

/**
 * Presses Tab (Shift+Tab with `backwards`) until the focused element matches `selector`; fails after
 * `max` presses, naming where the focus ended. `text`: the element's text must also contain it.
 */
export async function tabTo(page: Page, selector: string, opts: { readonly max?: number; readonly backwards?: boolean; readonly text?: string } = {}): Promise<void> {
  const max = opts.max ?? 120;
  for (let i = 0; i < max; i++) {
    if ((await focusMatches(page, selector)) && (opts.text === undefined || (await focusedText(page)).includes(opts.text))) {
      return;
    }
    await page.keyboard.press(opts.backwards ? 'Shift+Tab' : 'Tab');
  }
  assert.fail(`Tab did not reach ${selector} in ${max} presses; the focus is on ${await focusedElement(page)}`);
}
