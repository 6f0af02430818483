// Keys that work anywhere on the page except while typing in a field: / search, Esc clear the search, f fit,
// n / N the next / previous change while comparing, ? this help. The help (a modal <dialog>, opened by ? or the toolbar's button[data-help]) lists them with the
// tree's, the graph's and the divider's own keys.

import { html } from "./dom";

export type PageAction = "search" | "clear" | "fit" | "help" | "next" | "previous";

export interface PageKeyActions {
  focusSearch(): void;
  clearSearch(): void;
  fit(): void;
  /** Comparing two graphs: select the next change (`back`: the previous one). */
  nextChange(back: boolean): void;
}

/** The help's rows: the keys (each drawn as a <kbd>) and what they do, by where they work. */
export const KEY_HELP: readonly { where: string; keys: readonly (readonly [readonly string[], string])[] }[] = [
  {
    where: "Anywhere but in a field (in the tree, letters find rows)",
    keys: [
      [["/"], "search"],
      [["Esc"], "clear the search, close this help"],
      [["f"], "fit the graph to the view"],
      [["n", "N"], "comparing two graphs: next, previous change"],
      [["?"], "this help"],
      [["Tab"], "move between the toolbar, the tree, the graph's boxes and the details"],
    ],
  },
  {
    where: "In the module tree",
    keys: [
      [["↑", "↓"], "previous, next row"],
      [["→"], "expand; on an expanded row, its first child"],
      [["←"], "collapse; on a collapsed row, its parent"],
      [["Home", "End"], "first, last row"],
      [["Enter"], "select and expand or collapse"],
      [["Space"], "select"],
      [["a–z", "0–9"], "next row whose name starts with what is typed"],
    ],
  },
  {
    where: "On a box of the graph",
    keys: [
      [["Enter"], "select and expand or collapse"],
      [["Space"], "select"],
    ],
  },
  {
    where: "On the divider beside the tree",
    keys: [
      [["←", "→"], "narrower, wider tree (with Shift: in bigger steps)"],
      [["Home", "End"], "narrowest, widest"],
    ],
  },
];

/** What `event` asks of the page, if anything. */
export function pageActionOf(event: Pick<KeyboardEvent, "key" | "ctrlKey" | "metaKey" | "altKey">): PageAction | undefined {
  if (event.ctrlKey || event.metaKey || event.altKey) return undefined;
  switch (event.key) {
    case "/":
      return "search";
    case "Escape":
      return "clear";
    case "f":
    case "F":
      return "fit";
    case "?":
      return "help";
    case "n":
      return "next";
    case "N":
      return "previous";
    default:
      return undefined;
  }
}

/** Whether keys typed at `target` are text for it (a field, a list to choose from, editable text). */
export function isTypingTarget(target: EventTarget | null): boolean {
  if (!(target instanceof Element)) return false;
  const fields = "input:not([type=checkbox]):not([type=radio]):not([type=button]):not([type=submit]), select, textarea";
  return target.matches(`${fields}, [contenteditable]:not([contenteditable='false'])`);
}

/** The help panel and the toolbar's button that opens it. */
export class KeyHelp {
  readonly button: HTMLButtonElement;
  readonly dialog: HTMLDialogElement;
  /** What had focus before the help opened: it gets it back when the help closes. */
  private opener: HTMLElement | undefined;

  constructor() {
    this.button = html(
      "button",
      { type: "button", "data-help": "", "aria-haspopup": "dialog", "aria-label": "Keyboard keys", title: "Keyboard keys (?)" },
      "?",
    );
    this.button.addEventListener("click", () => this.open());
    const close = html("button", { type: "button", class: "mg-help-close", "aria-label": "Close" }, "×");
    close.addEventListener("click", () => this.close());
    const sections = KEY_HELP.map(({ where, keys }) =>
      html(
        "section",
        {},
        html("h3", {}, where),
        html(
          "dl",
          {},
          ...keys.flatMap(([names, what]) => [
            html("dt", {}, ...names.flatMap((name, i) => (i > 0 ? [" ", html("kbd", {}, name)] : [html("kbd", {}, name)]))),
            html("dd", {}, what),
          ]),
        ),
      ),
    );
    this.dialog = html(
      "dialog",
      { class: "mg-help", "aria-label": "Keyboard keys" },
      html("div", { class: "mg-help-head" }, html("h2", {}, "Keyboard keys"), close),
      ...sections,
    );
    // A click on the backdrop (outside the panel's box) closes it too.
    this.dialog.addEventListener("click", (event) => {
      if (event.target === this.dialog) {
        const r = this.dialog.getBoundingClientRect();
        const outside = event.clientX < r.left || event.clientX > r.right || event.clientY < r.top || event.clientY > r.bottom;
        if (outside) this.close();
      }
    });
    this.dialog.addEventListener("close", () => {
      this.button.setAttribute("aria-expanded", "false");
      const opener = this.opener;
      this.opener = undefined;
      if (opener?.isConnected) opener.focus({ preventScroll: true });
    });
    this.button.setAttribute("aria-expanded", "false");
  }

  get isOpen(): boolean {
    return this.dialog.open;
  }

  open(): void {
    if (this.dialog.open) return;
    const active = document.activeElement;
    this.opener = active instanceof HTMLElement && active !== document.body ? active : this.button;
    this.dialog.showModal();
    this.button.setAttribute("aria-expanded", "true");
  }

  close(): void {
    if (this.dialog.open) this.dialog.close();
  }
}

/** Answers the page-wide keys on `target` (the frame's document). */
export function listenForPageKeys(target: Document, help: KeyHelp, actions: PageKeyActions): void {
  target.addEventListener("keydown", (event) => {
    // (the tree's type-ahead and the fields' own keys come first)
    if (event.defaultPrevented) return;
    const action = pageActionOf(event);
    if (!action) return;
    if (help.isOpen) {
      if (action === "clear" || action === "help") {
        event.preventDefault();
        help.close();
      }
      return;
    }
    if (isTypingTarget(event.target)) return;
    event.preventDefault();
    if (action === "search") actions.focusSearch();
    else if (action === "clear") actions.clearSearch();
    else if (action === "fit") actions.fit();
    else if (action === "next" || action === "previous") actions.nextChange(action === "previous");
    else help.open();
  });
}
