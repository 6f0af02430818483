// The page follows TensorBoard's theme. Inside TensorBoard the tab is a same-origin frame, and TensorBoard's page
// marks dark mode with the class `dark-mode` on its body (set by `?darkMode=true`, its theme menu, or the
// browser's preference when the menu says so): the frame reads it on load and watches it. Opened on its own
// (/data/plugin_entry.html), the page takes `?darkMode=true|false` from its address, else the browser's preference.

import { tensorBoardWindow } from "./host";

export type Theme = "light" | "dark";

/** TensorBoard's class for dark mode on its page's body. */
export const DARK_MODE_CLASS = "dark-mode";

/** TensorBoard's page body, when the page runs in its frame. */
function tensorBoardBody(win: Window): HTMLElement | undefined {
  return tensorBoardWindow(win)?.document.body ?? undefined;
}

function ownPreference(win: Window): Theme {
  const asked = new URLSearchParams(win.location.search).get("darkMode");
  if (asked === "true") return "dark";
  if (asked === "false") return "light";
  return win.matchMedia?.("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

export function readTheme(win: Window = window): Theme {
  const body = tensorBoardBody(win);
  if (body) return body.classList.contains(DARK_MODE_CLASS) ? "dark" : "light";
  return ownPreference(win);
}

/** Applies the theme now and whenever it changes; returns what stops following it. */
export function followTheme(apply: (theme: Theme) => void, win: Window = window): () => void {
  let current = readTheme(win);
  apply(current);
  const update = () => {
    const theme = readTheme(win);
    if (theme === current) return;
    current = theme;
    apply(theme);
  };
  const body = tensorBoardBody(win);
  if (body) {
    const observer = new MutationObserver(update);
    observer.observe(body, { attributes: true, attributeFilter: ["class"] });
    return () => observer.disconnect();
  }
  const query = win.matchMedia?.("(prefers-color-scheme: dark)");
  query?.addEventListener("change", update);
  return () => query?.removeEventListener("change", update);
}

/** Marks the document with the theme: the styles' dark colours hang on `html[data-theme="dark"]`. */
export function applyTheme(theme: Theme, doc: Document = document): void {
  doc.documentElement.dataset.theme = theme;
}
