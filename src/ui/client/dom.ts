// Small DOM helpers for the browse page: elements built from properties (never from HTML strings, so no name can become markup) and the icon sprite.

type Child = Node | string | null | undefined | false;

/** Attributes to set; `false`, null and undefined leave one out, `true` sets it empty. Never `style`: the page's policy allows no inline style. */
type Attributes = Record<string, string | number | boolean | null | undefined>;

/** An element with `attributes` and `children` (strings become text nodes). */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    element.setAttribute(name, value === true ? '' : String(value));
  }
  append(element, ...children);
  return element;
}

/** Appends `children`, strings as text. */
export function append(parent: Element, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child);
  }
}

/** The element of the page with `id`; the page is broken without it. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`the page lacks #${id}`);
  return element as T;
}

const SVG = 'http://www.w3.org/2000/svg';

/** An icon of the page's sprite (`<symbol id="i-…">` in index.html), hidden from assistive technology: the text beside it says what it means. */
export function icon(name: string, className = ''): SVGSVGElement {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', `icon icon-${name} ${className}`.trim());
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const use = document.createElementNS(SVG, 'use');
  use.setAttribute('href', `#i-${name}`);
  svg.append(use);
  return svg;
}

/** True when keys typed go into a field (so Backspace edits text there rather than going up a folder). */
export function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  return target instanceof HTMLInputElement && !['checkbox', 'radio', 'button', 'submit', 'reset'].includes(target.type);
}

/** Starts a download of `url` as a click on a link would, without leaving the page (an error answer is kept as a failed download, never shown instead of the page). */
export function startDownload(url: string): void {
  const link = h('a', { href: url, download: '' });
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
}
