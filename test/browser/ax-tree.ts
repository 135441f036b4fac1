/**
 * What a screen reader is given: Chromium's accessibility tree through the DevTools protocol
 * (Accessibility.getFullAXTree), the same tree a platform screen reader reads.
 */
import type { Page } from 'playwright-core';

export interface AxNode {
  /** Chromium's role names: `banner`, `main`, `contentinfo`, `navigation`, `heading`, `button`, `status`, `image`, `checkbox`, `combobox`... */
  readonly role: string;
  readonly name: string;
  /** The text inside it, as a screen reader reads a live region's content when it changes. */
  readonly text: string;
  /** From aria-describedby (or a title). */
  readonly description: string;
  /** `polite` or `assertive` on a live region (and inside it). */
  readonly live?: string;
  /** Heading level. */
  readonly level?: number;
  readonly focusable: boolean;
}

export async function axTree(page: Page): Promise<AxNode[]> {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { nodes } = await cdp.send('Accessibility.getFullAXTree');
    const byId = new Map(nodes.map((n) => [n.nodeId, n]));
    const textOf = (id: string): string => {
      const n = byId.get(id);
      if (!n || n.ignored) {
        return '';
      }
      const own = n.role?.value === 'StaticText' && typeof n.name?.value === 'string' ? n.name.value : '';
      return own + (n.childIds ?? []).map(textOf).join('');
    };
    return nodes
      .filter((n) => !n.ignored)
      .map((n) => {
        const prop = (name: string): unknown => n.properties?.find((p) => p.name === name)?.value.value;
        const live = prop('live');
        const level = prop('level');
        return {
          role: typeof n.role?.value === 'string' ? n.role.value : '',
          name: typeof n.name?.value === 'string' ? n.name.value.trim() : '',
          text: textOf(n.nodeId).trim(),
          description: typeof n.description?.value === 'string' ? n.description.value.trim() : '',
          ...(typeof live === 'string' && live !== 'off' ? { live } : {}),
          ...(typeof level === 'number' ? { level } : {}),
          focusable: prop('focusable') === true,
        };
      });
  } finally {
    await cdp.detach();
  }
}

/** Roles a person operates: each must have a name a screen reader can say. */
const CONTROLS = new Set(['button', 'link', 'checkbox', 'radio', 'combobox', 'textbox', 'slider', 'spinbutton', 'searchbox', 'ListBox', 'listbox', 'switch', 'tab', 'menuitem']);

/** Controls without an accessible name (role and whatever identifies them). */
export function unnamedControls(tree: readonly AxNode[]): string[] {
  return tree.filter((n) => CONTROLS.has(n.role) && !n.name).map((n) => n.role);
}

export function names(tree: readonly AxNode[], role: string): string[] {
  return tree.filter((n) => n.role === role).map((n) => n.name);
}
