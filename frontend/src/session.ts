// What belongs to the open graph: its store and explorer (what is loaded, expanded and selected), the layouts
// made for it, the visible tree last drawn, and the state of its measures (why it has no time; the poll for
// costs the server is still counting). One session is made when a graph opens and closed when another opens.
//
// Every answer the page awaits for the graph passes through `guard`: an answer that arrives after the session
// closed is dropped there (the awaiting code never resumes), so no code after an await asks whether its graph
// is still the open one. Within a session, `begin` tells a task (a redraw, a details request) when a newer
// one of its kind superseded it. Values fetched apart from the structure (`overlays`, one per measure, keyed by
// node path) are kept here beside the store, which reads its listings through them; comparing two graphs is a session
// of graph A with B to compare with, whose listings are the union tree's (the `diff` route).

import { messageOf, type Api, type GraphRef } from "./api";
import { Explorer } from "./explorer";
import type { ViewState } from "./hash";
import { HierarchyStore } from "./hierarchy-store";
import type { GroupLayout } from "./layout";
import { findChange } from "./next-change";
import { Overlays } from "./overlays";
import type { DiffNode } from "./types";
import type { VisibleNode } from "./visible-node";

const NO_PROFILE =
  "This run holds no profile to time the graph with. Record the graph on the function's first call " +
  "(tf.summary.trace_on(graph=True), the call, tf.summary.trace_export), then profile later calls into the same " +
  "run: tf.profiler.experimental.start(run_dir), a few steps, tf.profiler.experimental.stop().";

/** While the server still counts a big graph's FLOPs, the page asks again this often, at most COST_POLLS times. */
const COST_POLL_MS = 1000;
const COST_POLLS = 60;

export type TaskKind = "redraw" | "details";

export class GraphSession {
  readonly explorer: Explorer;
  /** The measures fetched apart from the structure (measured time; FLOPs still being counted), by node path. */
  readonly overlays = new Overlays();
  /** Layouts of this graph's groups, by what they hold (kept across redraws). */
  readonly layoutCache = new Map<string, GroupLayout>();
  /** The visible tree of the last redraw. */
  visible: VisibleNode | undefined;
  /** The view (expanded groups, selection) the session was opened to show, from an address or the session before. */
  view: ViewState | undefined;
  /** Why this graph has no time to colour by (no profile, one that does not read), once asked. */
  timeMessage: string | undefined;
  private open = true;
  private readonly newest = new Map<TaskKind, number>();
  /** The walk through a comparison's changes: each step starts once the one before has revealed its change. */
  private walk: Promise<void> = Promise.resolve();
  private costPoll: { timer: ReturnType<typeof setTimeout> | undefined; count: number } = { timer: undefined, count: 0 };

  /** `compareWith`: the graph compared with (a comparison's session shows the union of both trees). */
  constructor(api: Api, readonly graph: GraphRef, readonly compareWith?: GraphRef) {
    this.explorer = new Explorer(new HierarchyStore(api, graph, this.overlays, compareWith));
  }

  get store(): HierarchyStore {
    return this.explorer.store;
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** Another graph opens: what is still under way for this one is dropped as it arrives. */
  close(): void {
    this.open = false;
    clearTimeout(this.costPoll.timer);
    this.costPoll.timer = undefined;
  }

  /** `promise`, settled only while the session is open: a late answer or error for a closed one never arrives. */
  guard<T>(promise: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      promise.then(
        (value) => {
          if (this.open) resolve(value);
        },
        (error: unknown) => {
          if (this.open) reject(error);
        },
      );
    });
  }

  /** Starts a task of `kind`: the answer tells, when asked later, whether it is still the newest of its kind in
   * an open session (a newer redraw or details request makes an older one's results stale). */
  begin(kind: TaskKind): () => boolean {
    const number = (this.newest.get(kind) ?? 0) + 1;
    this.newest.set(kind, number);
    return () => this.open && this.newest.get(kind) === number;
  }

  /** Fetches measured time as an overlay of the loaded listings, and of those loaded later (`profiled`: the run
   * holds a profile), or says why there is none; `track` counts the request in the page's status. */
  async loadTimes(profiled: boolean, track: <T>(request: Promise<T>) => Promise<T>): Promise<void> {
    if (this.store.time || this.timeMessage !== undefined) return;
    // (comparing: the server says which of the two runs has no profile)
    if (!profiled && !this.compareWith) {
      this.timeMessage = NO_PROFILE;
      return;
    }
    try {
      await this.guard(track(this.store.loadOverlay("time", true)));
      // (one side without time: no difference is known, the legend says why instead)
      if (this.compareWith) this.timeMessage = this.store.timeMissing;
    } catch (error) {
      this.timeMessage = messageOf(error);
    }
  }

  /** Comparing: finds the change after the selection (`back`: before it) and `reveal`s it, once the previous
   * step is done, so that each press of "next change" moves on by one however fast they come. */
  walkChanges(back: boolean, reveal: (path: string) => Promise<void>): Promise<void> {
    const step = async () => {
      const load = (path: string) => this.store.load(path) as Promise<DiffNode>;
      const found = await this.guard(findChange(load, this.explorer.selected, back));
      if (found !== undefined) await reveal(found);
    };
    this.walk = this.walk.then(step, step);
    return this.walk;
  }

  /** Runs `poll` in COST_POLL_MS (once at a time, at most COST_POLLS times per session), while the session is open. */
  scheduleCostPoll(poll: () => Promise<void>): void {
    if (!this.open || this.costPoll.timer !== undefined || this.costPoll.count >= COST_POLLS) return;
    this.costPoll.timer = setTimeout(() => {
      this.costPoll.timer = undefined;
      this.costPoll.count++;
      if (this.open) void poll();
    }, COST_POLL_MS);
  }
}
