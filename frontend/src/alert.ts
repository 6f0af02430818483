// The page's one role="alert" element: the message alone, with a button to dismiss it, present only while
// there is something to say.

import { html } from "./dom";

export class AlertArea {
  readonly element = html("div", { class: "mg-alerts" });

  show(message: string): void {
    const dismiss = html("button", { type: "button", class: "mg-dismiss", "aria-label": "Dismiss" }, "×");
    dismiss.addEventListener("click", () => this.clear());
    this.element.replaceChildren(html("div", { role: "alert", class: "mg-alert" }, message), dismiss);
  }

  clear(): void {
    this.element.replaceChildren();
  }
}
