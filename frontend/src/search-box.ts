// Search by name or regular expression. Typing lists matches; Enter (or a click on a match) reveals and
// selects it. The <input type="search"> is the only one on the page: tests find it by its type.

import { html } from "./dom";
import type { SearchMatch, SearchResult } from "./types";

export interface SearchBoxHandlers {
  search(query: string, regex: boolean): Promise<SearchResult>;
  reveal(path: string): void;
  /** An API error (e.g. an invalid regular expression). */
  onError(error: unknown): void;
}

const TYPING_DELAY_MS = 200;

export class SearchBox {
  readonly element: HTMLElement;
  private readonly input: HTMLInputElement;
  private readonly regex: HTMLInputElement;
  private readonly results: HTMLUListElement;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Counts queries, so that an answer to an older query never replaces a newer one. */
  private queryNumber = 0;

  constructor(private readonly handlers: SearchBoxHandlers) {
    this.input = html("input", {
      type: "search",
      placeholder: "Search nodes…",
      "aria-label": "Search nodes by name or path",
      autocomplete: "off",
      spellcheck: "false",
    });
    this.regex = html("input", { type: "checkbox" });
    this.results = html("ul", { class: "mg-search-results", role: "listbox", "aria-label": "Matches", hidden: true });
    this.element = html(
      "div",
      { class: "mg-search" },
      this.input,
      html("label", { class: "mg-regex" }, this.regex, " regex"),
      this.results,
    );

    this.input.addEventListener("input", () => this.scheduleSearch());
    this.regex.addEventListener("change", () => this.scheduleSearch());
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        void this.revealFirstMatch();
      } else if (event.key === "Escape") {
        this.clear();
      } else if (event.key === "ArrowDown") {
        event.preventDefault();
        this.options()[0]?.focus();
      }
    });
    this.results.addEventListener("click", (event) => {
      const option = (event.target as Element).closest<HTMLElement>("[data-match-path]");
      if (option) this.choose(option);
    });
    this.results.addEventListener("keydown", (event) => this.onResultsKey(event));
    // The list closes when focus leaves the search (options are focusable, so choosing one keeps it open).
    this.element.addEventListener("focusout", (event) => {
      if (!(event.relatedTarget instanceof Node && this.element.contains(event.relatedTarget))) this.hideResults();
    });
  }

  private options(): HTMLElement[] {
    return [...this.results.querySelectorAll<HTMLElement>("[data-match-path]")];
  }

  private choose(option: HTMLElement): void {
    this.hideResults();
    this.input.focus();
    this.handlers.reveal(option.dataset.matchPath!);
  }

  private onResultsKey(event: KeyboardEvent): void {
    const options = this.options();
    const index = options.indexOf(event.target as HTMLElement);
    if (index < 0) return;
    if (event.key === "ArrowDown") options[index + 1]?.focus();
    else if (event.key === "ArrowUp") (options[index - 1] ?? this.input).focus();
    else if (event.key === "Enter") this.choose(options[index]!);
    else if (event.key === "Escape") {
      this.hideResults();
      this.input.focus();
    } else return;
    event.preventDefault();
  }

  setEnabled(enabled: boolean): void {
    this.input.disabled = !enabled;
    this.regex.disabled = !enabled;
    if (!enabled) this.hideResults();
  }

  /** Puts the cursor in the search box, its text selected (so that typing replaces it). */
  focus(): void {
    if (this.input.disabled) return;
    this.input.focus();
    this.input.select();
  }

  /** Empties the search box and closes its list of matches. */
  clear(): void {
    clearTimeout(this.timer);
    this.queryNumber++;
    this.input.value = "";
    this.hideResults();
  }

  private scheduleSearch(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.runSearch(), TYPING_DELAY_MS);
  }

  /** Searches now; resolves to the matches, or undefined if the query is empty, failed or was superseded. */
  private async runSearch(): Promise<SearchMatch[] | undefined> {
    clearTimeout(this.timer);
    const query = this.input.value.trim();
    const number = ++this.queryNumber;
    if (query === "") {
      this.hideResults();
      return undefined;
    }
    try {
      const result = await this.handlers.search(query, this.regex.checked);
      if (number !== this.queryNumber) return undefined;
      this.showResults(query, result);
      return result.matches;
    } catch (error) {
      if (number === this.queryNumber) {
        this.hideResults();
        this.handlers.onError(error);
      }
      return undefined;
    }
  }

  private async revealFirstMatch(): Promise<void> {
    const matches = await this.runSearch();
    const first = matches?.[0];
    if (!first) return;
    this.hideResults();
    this.handlers.reveal(first.path);
  }

  private showResults(query: string, result: SearchResult): void {
    const options = result.matches.map((match) =>
      html(
        "li",
        { role: "option", "data-match-path": match.path, "aria-selected": "false", title: match.path, tabindex: -1 },
        html("span", { class: "mg-match-name" }, match.name),
        html("span", { class: "mg-match-kind" }, match.op ?? match.kind),
        html("span", { class: "mg-match-path" }, match.path),
      ),
    );
    if (options.length === 0) options.push(html("li", { class: "mg-hint" }, `No node matches “${query}”.`));
    if (result.truncated) options.push(html("li", { class: "mg-hint" }, "More matches not shown: refine the search."));
    this.results.replaceChildren(...options);
    this.results.hidden = false;
  }

  private hideResults(): void {
    this.results.hidden = true;
    this.results.replaceChildren();
  }
}
