import assert from "node:assert/strict";
import { test } from "node:test";
import { GraphSession } from "../src/session";
import { buildDemoGraph, fakeApi } from "./fake-graph";

const GRAPH = { run: "demo", tag: "model" };

/** Whether `promise` settled within a few turns of the event loop (with its outcome). */
async function settled<T>(promise: Promise<T>): Promise<{ value?: T; error?: unknown } | undefined> {
  let outcome: { value?: T; error?: unknown } | undefined;
  promise.then((value) => (outcome = { value }), (error: unknown) => (outcome = { error }));
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 0));
  return outcome;
}

function session(): GraphSession {
  return new GraphSession(fakeApi([buildDemoGraph()]), GRAPH);
}

test("an open session passes answers and errors on", async () => {
  const s = session();
  assert.deepEqual(await settled(s.guard(Promise.resolve(7))), { value: 7 });
  const failure = new Error("no such graph");
  assert.deepEqual(await settled(s.guard(Promise.reject(failure))), { error: failure });
});

test("answers and errors that arrive after the session closed never reach the code awaiting them", async () => {
  const s = session();
  let answer!: (value: number) => void;
  let fail!: (error: Error) => void;
  const late = s.guard(new Promise<number>((resolve) => (answer = resolve)));
  const failing = s.guard(new Promise<number>((_, reject) => (fail = reject)));
  s.close();
  answer(1);
  fail(new Error("late"));
  assert.equal(await settled(late), undefined);
  assert.equal(await settled(failing), undefined);
  assert.equal(s.isOpen, false);
});

test("a newer task of one kind makes the older stale, other kinds are left alone, closing makes all stale", () => {
  const s = session();
  const firstRedraw = s.begin("redraw");
  const details = s.begin("details");
  assert.equal(firstRedraw(), true);
  const secondRedraw = s.begin("redraw");
  assert.deepEqual([firstRedraw(), secondRedraw(), details()], [false, true, true]);
  s.close();
  assert.deepEqual([secondRedraw(), details()], [false, false]);
});

test("the session's explorer reads its own graph; an open session polls for costs, a closed one no more", async () => {
  const [open, closed] = [session(), session()];
  await open.guard(open.explorer.start());
  assert.deepEqual(open.store.graph, GRAPH);
  assert.ok(open.store.get("")?.children?.length);
  const polls = { open: 0, closed: 0 };
  open.scheduleCostPoll(async () => {
    polls.open++;
  });
  closed.scheduleCostPoll(async () => {
    polls.closed++;
  });
  closed.close();
  await new Promise((resolve) => setTimeout(resolve, 1100)); // (COST_POLL_MS, and a little)
  assert.deepEqual(polls, { open: 1, closed: 0 });
});
