// Small DOM builders. Data only ever reaches the page as text nodes or attribute values, never as markup.

type Attributes = Record<string, string | number | boolean | undefined>;
type Child = Node | string | undefined | false;

function setAttributes(element: Element, attributes: Attributes): void {
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? "" : String(value));
  }
}

function append(element: Element, children: Child[]): void {
  for (const child of children) {
    if (child === undefined || child === false) continue;
    element.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
}

export function html<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  setAttributes(element, attributes);
  append(element, children);
  return element;
}

const SVG_NS = "http://www.w3.org/2000/svg";

export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG_NS, tag) as SVGElementTagNameMap[K];
  setAttributes(element, attributes);
  append(element, children);
  return element;
}

/**
 * Makes the children of `parent` for which `managed` holds be exactly `wanted`, in order, after the
 * others; elements already in place are not touched (moving an element makes the browser restyle it).
 */
export function syncChildren(parent: Element, wanted: readonly Element[], managed: (child: Element) => boolean): void {
  const keep = new Set(wanted);
  for (const child of [...parent.children]) if (managed(child) && !keep.has(child)) child.remove();
  const firstManaged = parent.children.length - [...parent.children].filter(managed).length;
  wanted.forEach((element, index) => {
    const current = parent.children[firstManaged + index] ?? null;
    if (current !== element) parent.insertBefore(element, current);
  });
}

/** A path as text that wraps only after its `/` (a <wbr> after each): a line never breaks inside a name. */
export function pathText(path: string): (string | HTMLElement)[] {
  const parts: (string | HTMLElement)[] = [];
  for (const [i, part] of path.split("/").entries()) {
    if (i > 0) parts.push("/", document.createElement("wbr"));
    if (part) parts.push(part);
  }
  return parts;
}

/** Sets an attribute only when its value changes (a render goes over thousands of kept elements). */
export function setAttributeIfChanged(element: Element, name: string, value: string): void {
  if (element.getAttribute(name) !== value) element.setAttribute(name, value);
}
