// Main-thread side of the layout worker: sends one group per job and resolves the matching promise.

import type { GroupLayout, LayoutRequest } from "./layout";
import type { LayoutAnswer, LayoutJob } from "./layout-worker";

export class LayoutWorkerClient {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve(layout: GroupLayout): void; reject(error: Error): void }>();
  private nextId = 1;

  /** `onBusyChange` is told when jobs start and when the last one ends (for the "laying out…" state). */
  constructor(
    workerUrl: URL,
    private readonly onBusyChange: (busy: boolean) => void,
  ) {
    this.worker = new Worker(workerUrl, { type: "module" });
    this.worker.onmessage = (event: MessageEvent<LayoutAnswer>) => this.settle(event.data);
    this.worker.onerror = (event) => {
      event.preventDefault();
      this.failAll(new Error("The layout worker could not run (static/layout-worker.js). Try reloading the page."));
    };
  }

  layout(request: LayoutRequest): Promise<GroupLayout> {
    const id = this.nextId++;
    const job: LayoutJob = { id, request };
    const start = performance.now();
    const result = new Promise<GroupLayout>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    void result.then(
      () => performance.measure(`mg:job ${request.nodes.length}n ${request.edges.length}e`, { start, end: performance.now() }),
      () => undefined,
    );
    if (this.pending.size === 1) this.onBusyChange(true);
    this.worker.postMessage(job);
    return result;
  }

  private settle(answer: LayoutAnswer): void {
    const waiting = this.pending.get(answer.id);
    if (!waiting) return;
    this.pending.delete(answer.id);
    if ("error" in answer) waiting.reject(new Error(`Layout failed: ${answer.error}`));
    else waiting.resolve(answer.layout);
    if (this.pending.size === 0) this.onBusyChange(false);
  }

  private failAll(error: Error): void {
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const { reject } of waiting) reject(error);
    this.onBusyChange(false);
  }
}
