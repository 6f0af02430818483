import assert from "node:assert/strict";
import { test } from "node:test";
import type { LayoutRequest } from "../src/layout";
import { LayoutWorkerClient, type WorkerLike } from "../src/layout-client";
import { computeLayout } from "../src/layout-engine";
import type { LayoutJob } from "../src/layout-worker";

const URL_OF_WORKER = new URL("http://localhost/static/layout-worker.js");
/** A diamond: dagre's, not a column or a grid. */
const request: LayoutRequest = {
  nodes: ["a", "b", "c", "d"].map((id) => ({ id, width: 100, height: 40 })),
  edges: [
    { from: "a", to: "b" },
    { from: "a", to: "c" },
    { from: "b", to: "d" },
    { from: "c", to: "d" },
  ],
};
/** Two parallel chains of 20 joined at both ends: large, and neither a column nor a grid. */
const ladder: LayoutRequest = {
  nodes: ["top", "bottom", ...Array.from({ length: 40 }, (_, i) => `n${i}`)].map((id) => ({ id, width: 100, height: 40 })),
  edges: [0, 20].flatMap((start) => [
    { from: "top", to: `n${start}` },
    ...Array.from({ length: 19 }, (_, i) => ({ from: `n${start + i}`, to: `n${start + i + 1}` })),
    { from: `n${start + 19}`, to: "bottom" },
  ]),
};
const column: LayoutRequest = { nodes: request.nodes, edges: [{ from: "a", to: "b" }, { from: "b", to: "c" }, { from: "c", to: "d" }] };

/** A worker that answers each job with the real layout, or never answers and then fails to load. */
class FakeWorker implements WorkerLike {
  onmessage: WorkerLike["onmessage"] = null;
  onerror: WorkerLike["onerror"] = null;
  jobs: LayoutJob[] = [];
  terminated = false;

  constructor(private readonly answers: boolean) {}

  postMessage(job: LayoutJob): void {
    this.jobs.push(job);
    if (this.answers) {
      setTimeout(() => this.onmessage?.({ data: { id: job.id, layout: computeLayout(job.request) } } as MessageEvent));
    }
  }

  failToLoad(): void {
    this.onerror?.({ preventDefault() {} } as Event);
  }

  terminate(): void {
    this.terminated = true;
  }
}

/** Lets the fake worker answer what it was sent. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

test("layouts come from the worker once it has started", async () => {
  const worker = new FakeWorker(true);
  const busy: boolean[] = [];
  const client = new LayoutWorkerClient(URL_OF_WORKER, (state) => busy.push(state), undefined, () => worker);
  await settle();
  const layout = await client.layout(request);
  assert.deepEqual(layout, computeLayout(request));
  assert.deepEqual(worker.jobs.map((job) => job.id), [0, 1], "a warm-up job, then the layout");
  assert.equal(client.onThePage, false);
  assert.deepEqual(busy, [true, false]);
});

test("a worker that cannot load: its jobs and the next ones are laid out on the page", async () => {
  const worker = new FakeWorker(false);
  const reasons: string[] = [];
  const busy: boolean[] = [];
  const client = new LayoutWorkerClient(URL_OF_WORKER, (state) => busy.push(state), (reason) => reasons.push(reason), () => worker);
  const first = client.layout(ladder);
  worker.failToLoad();
  assert.deepEqual(await first, computeLayout(ladder));
  assert.ok(worker.terminated);
  assert.equal(client.onThePage, true);
  assert.equal(reasons.length, 1);
  assert.match(reasons[0]!, /layout-worker\.js/);
  assert.deepEqual(await client.layout(request), computeLayout(request));
  assert.equal(worker.jobs.length, 2, "nothing more is sent to the dead worker (after its warm-up and first job)");
  assert.equal(busy.at(-1), false);
});

test("no worker at all (Worker missing or refused): the page lays out", async () => {
  const reasons: string[] = [];
  const client = new LayoutWorkerClient(URL_OF_WORKER, () => undefined, (reason) => reasons.push(reason), () => {
    throw new Error("Worker is not defined");
  });
  assert.equal(client.onThePage, true);
  assert.match(reasons[0]!, /Worker is not defined/);
  const [one, two] = await Promise.all([client.layout(request), client.layout({ nodes: request.nodes, edges: [] })]);
  assert.deepEqual(one, computeLayout(request));
  assert.deepEqual(Object.keys(two.nodes), ["a", "b", "c", "d"]);
  assert.deepEqual(await client.layout(ladder), computeLayout(ladder), "a large dagre layout, on the page");
});

test("columns and grids, and small groups while the worker starts, are laid out on the page at once", async () => {
  const worker = new FakeWorker(true);
  const client = new LayoutWorkerClient(URL_OF_WORKER, () => undefined, undefined, () => worker);
  assert.deepEqual(await client.layout(request), computeLayout(request), "before the worker's warm-up answer");
  await settle();
  assert.deepEqual(await client.layout(column), computeLayout(column));
  assert.deepEqual(await client.layout({ nodes: request.nodes, edges: [] }), computeLayout({ nodes: request.nodes, edges: [] }));
  assert.deepEqual(worker.jobs.map((job) => job.id), [0], "only the warm-up went to the worker");
  await client.layout(request);
  assert.equal(worker.jobs.length, 2, "a dagre layout goes to the worker once it is ready");
});
