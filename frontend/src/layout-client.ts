// Main-thread side of the layout worker: sends one group per job and resolves the matching promise. Groups
// laid out in linear time (a column, a grid: under a millisecond for hundreds of children) are laid out on
// the page at once, and so are small groups while the worker is still starting (its script loads and
// compiles in 0.3-0.5 s, longer than the first hierarchy request). When no worker can start (the script
// fails to load, workers are not allowed), the same layout code runs on the page instead, one group per
// task so that the page still paints between groups.

import type { GroupLayout, LayoutRequest } from "./layout";
import { chooseMethod, computeLayout, layoutWith } from "./layout-engine";
import type { LayoutAnswer, LayoutJob } from "./layout-worker";
import { measureSince } from "./timing";

interface Waiting {
  request: LayoutRequest;
  resolve(layout: GroupLayout): void;
  reject(error: Error): void;
}

/** The part of a Worker the client uses (tests give a fake one). */
export interface WorkerLike {
  onmessage: ((event: MessageEvent<LayoutAnswer>) => void) | null;
  onerror: ((event: Event) => void) | null;
  postMessage(job: LayoutJob): void;
  terminate(): void;
}

export type WorkerFactory = () => WorkerLike;

/** Groups up to this many children are laid out on the page while the worker is not ready yet. */
export const SMALL_GROUP = 30;

/** A diamond with a long edge: dagre's path (not a column, not a grid), every phase of it. */
const WARM_UP: LayoutRequest = {
  nodes: ["a", "b", "c", "d"].map((id) => ({ id, width: 100, height: 40 })),
  edges: [
    { from: "a", to: "b" },
    { from: "a", to: "c" },
    { from: "b", to: "d" },
    { from: "c", to: "d" },
    { from: "a", to: "d" },
  ],
};

export class LayoutWorkerClient {
  private worker: WorkerLike | undefined;
  /** The worker answered its warm-up job. */
  private workerReady = false;
  private readonly pending = new Map<number, Waiting>();
  private nextId = 1;
  /** Jobs laid out on the page run one after another. */
  private pageQueue: Promise<unknown> = Promise.resolve();
  private pageJobs = 0;

  /**
   * `onBusyChange` is told when jobs start and when the last one ends (for the "laying out…" state);
   * `onFallback` once, when layouts move to the page.
   */
  constructor(
    workerUrl: URL,
    private readonly onBusyChange: (busy: boolean) => void,
    private readonly onFallback: (reason: string) => void = () => undefined,
    createWorker: WorkerFactory = () => new Worker(workerUrl, { type: "module" }) as unknown as WorkerLike,
  ) {
    try {
      this.worker = createWorker();
    } catch (error) {
      this.useThePage(`the layout worker could not start (${error instanceof Error ? error.message : String(error)})`);
      return;
    }
    this.worker.onmessage = (event: MessageEvent<LayoutAnswer>) => this.settle(event.data);
    // A first small dagre layout while the page still waits for the graph: the worker's code is then compiled
    // when the first real group arrives (that first layout took 50-250 ms more without it). Job 0 has no answer.
    this.worker.postMessage({ id: 0, request: WARM_UP });
    this.worker.onerror = (event) => {
      event.preventDefault();
      this.useThePage(`the layout worker could not run (${workerUrl.pathname.split("/").pop()})`);
    };
  }

  /** True once layouts run on the page. */
  get onThePage(): boolean {
    return this.worker === undefined;
  }

  layout(request: LayoutRequest): Promise<GroupLayout> {
    const start = performance.now();
    const method = chooseMethod(request);
    let result: Promise<GroupLayout>;
    if (method === "column" || method === "grid" || (!this.workerReady && request.nodes.length <= SMALL_GROUP)) {
      try {
        result = Promise.resolve(layoutWith(request, method));
      } catch (error) {
        result = Promise.reject(new Error(`Layout failed: ${error instanceof Error ? error.message : String(error)}`));
      }
    } else {
      result = this.worker ? this.send(request) : this.layoutOnThePage(request);
    }
    void result.then(
      () => measureSince(`job ${request.nodes.length}n ${request.edges.length}e`, start),
      () => undefined,
    );
    return result;
  }

  private send(request: LayoutRequest): Promise<GroupLayout> {
    const id = this.nextId++;
    const job: LayoutJob = { id, request };
    const result = new Promise<GroupLayout>((resolve, reject) => this.pending.set(id, { request, resolve, reject }));
    if (this.pending.size === 1) this.onBusyChange(true);
    this.worker!.postMessage(job);
    return result;
  }

  private settle(answer: LayoutAnswer): void {
    if (answer.id === 0) this.workerReady = true;
    const waiting = this.pending.get(answer.id);
    if (!waiting) return;
    this.pending.delete(answer.id);
    if ("error" in answer) waiting.reject(new Error(`Layout failed: ${answer.error}`));
    else waiting.resolve(answer.layout);
    if (this.pending.size === 0) this.onBusyChange(false);
  }

  /** From now on lays out on the page, starting with the jobs the worker did not answer. */
  private useThePage(reason: string): void {
    this.worker?.terminate();
    this.worker = undefined;
    const waiting = [...this.pending.values()];
    this.pending.clear();
    if (waiting.length > 0) this.onBusyChange(false);
    this.onFallback(reason);
    for (const { request, resolve, reject } of waiting) this.layoutOnThePage(request).then(resolve, reject);
  }

  private layoutOnThePage(request: LayoutRequest): Promise<GroupLayout> {
    if (this.pageJobs++ === 0) this.onBusyChange(true);
    const result = this.pageQueue
      .then(() => new Promise((resolve) => setTimeout(resolve, 0)))
      .then(() => computeLayout(request))
      .catch((error: unknown) => {
        throw new Error(`Layout failed: ${error instanceof Error ? error.message : String(error)}`);
      })
      .finally(() => {
        if (--this.pageJobs === 0) this.onBusyChange(false);
      });
    this.pageQueue = result.catch(() => undefined);
    return result;
  }
}
