import assert from "node:assert/strict";
import { test } from "node:test";
import type { LayoutRequest } from "../src/layout";
import { LayoutWorkerClient, type WorkerLike } from "../src/layout-client";
import { computeLayout } from "../src/layout-engine";
import type { LayoutJob } from "../src/layout-worker";

const URL_OF_WORKER = new URL("http://localhost/static/layout-worker.js");
const request: LayoutRequest = {
  nodes: [
    { id: "a", width: 100, height: 40 },
    { id: "b", width: 100, height: 40 },
  ],
  edges: [{ from: "a", to: "b" }],
};

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

test("layouts come from the worker while it runs", async () => {
  const worker = new FakeWorker(true);
  const busy: boolean[] = [];
  const client = new LayoutWorkerClient(URL_OF_WORKER, (state) => busy.push(state), undefined, () => worker);
  const layout = await client.layout(request);
  assert.deepEqual(layout, computeLayout(request));
  assert.equal(worker.jobs.length, 1);
  assert.equal(client.onThePage, false);
  assert.deepEqual(busy, [true, false]);
});

test("a worker that cannot load: its jobs and the next ones are laid out on the page", async () => {
  const worker = new FakeWorker(false);
  const reasons: string[] = [];
  const busy: boolean[] = [];
  const client = new LayoutWorkerClient(URL_OF_WORKER, (state) => busy.push(state), (reason) => reasons.push(reason), () => worker);
  const first = client.layout(request);
  worker.failToLoad();
  assert.deepEqual(await first, computeLayout(request));
  assert.ok(worker.terminated);
  assert.equal(client.onThePage, true);
  assert.equal(reasons.length, 1);
  assert.match(reasons[0]!, /layout-worker\.js/);
  assert.deepEqual(await client.layout(request), computeLayout(request));
  assert.equal(worker.jobs.length, 1, "nothing more is sent to the dead worker");
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
  assert.deepEqual(Object.keys(two.nodes), ["a", "b"]);
});
