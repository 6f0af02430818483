// TensorBoard's page around the tab: the tab runs in a same-origin frame of it (/data/plugin_entry.html), whose
// body says the theme and whose address can hold the view. Opened on its own, the page has no such host.

/** TensorBoard's window, when the page runs in its frame (undefined on its own, or under a page of another origin). */
export function tensorBoardWindow(win: Window = window): Window | undefined {
  if (win.parent === win) return undefined;
  try {
    void win.parent.location.href; // (throws for another origin)
    return win.parent;
  } catch {
    return undefined;
  }
}
