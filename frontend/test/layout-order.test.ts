// A training step's backward group is laid out after (below) its module's forward children, by its role.
import assert from "node:assert/strict";
import { test } from "node:test";
import { layoutRequestFor, type GroupLayout, type LayoutRequest } from "../src/layout";
import { forgetOrders } from "../src/layout-dagre";
import { chooseMethod, computeLayout, layoutWith } from "../src/layout-engine";
import type { VisibleNode } from "../src/visible-node";

const SIZE = { width: 120, height: 40 };

/** A module's children: forward layers in a chain, the backward group fed by the first layer only (as gradient
 * ops read the activations they need), and the module's outputs after the last layer. */
function trainingModule(backwardRole: string | undefined): LayoutRequest {
  const forward = ["dense", "dense_1", "dense_2", "dense_3"];
  return {
    nodes: [
      ...forward.map((id) => ({ id, ...SIZE })),
      { id: "backward", ...SIZE, ...(backwardRole ? { role: backwardRole } : {}) },
    ],
    edges: [
      ...forward.slice(1).map((id, i) => ({ from: forward[i]!, to: id })),
      { from: "dense", to: "backward" },
    ],
  };
}

function top(layout: GroupLayout, id: string): number {
  return layout.nodes[id]!.y - SIZE.height / 2;
}

function bottom(layout: GroupLayout, id: string): number {
  return layout.nodes[id]!.y + SIZE.height / 2;
}

function assertLast(layout: GroupLayout, request: LayoutRequest, last: string): void {
  for (const { id } of request.nodes) {
    if (id !== last) assert.ok(top(layout, last) > bottom(layout, id), `${last} is not below ${id}: ${JSON.stringify(layout.nodes)}`);
  }
}

test("without its role, the backward group is laid out among the forward layers (what the role changes)", () => {
  forgetOrders();
  const layout = computeLayout(trainingModule(undefined));
  assert.ok(top(layout, "backward") < bottom(layout, "dense_3"), JSON.stringify(layout.nodes));
});

test("a backward group is laid out below every forward child, and the edges that order it are not drawn", () => {
  forgetOrders();
  const request = trainingModule("backward");
  const layout = computeLayout(request);
  assertLast(layout, request, "backward");
  const drawn = layout.edges.map(({ from, to }) => `${from}->${to}`).sort();
  assert.deepEqual(drawn, request.edges.map(({ from, to }) => `${from}->${to}`).sort());
  // The same whichever way the client runs it (the method chosen on the page, then the layout).
  forgetOrders();
  assert.deepEqual(layoutWith(request, chooseMethod(request)).nodes, layout.nodes);
});

test("a backward group among children without edges comes after them all", () => {
  forgetOrders();
  const request: LayoutRequest = {
    nodes: [{ id: "a", ...SIZE }, { id: "b", ...SIZE }, { id: "backward", ...SIZE, role: "backward" }, { id: "c", ...SIZE }],
    edges: [],
  };
  const layout = computeLayout(request);
  assertLast(layout, request, "backward");
  assert.deepEqual(layout.edges, []);
});

test("what the backward group feeds stays after it (no ordering edge closes a cycle)", () => {
  forgetOrders();
  const request: LayoutRequest = {
    nodes: [{ id: "a", ...SIZE }, { id: "b", ...SIZE }, { id: "backward", ...SIZE, role: "backward" }, { id: "grads", ...SIZE }],
    edges: [{ from: "a", to: "b" }, { from: "a", to: "backward" }, { from: "backward", to: "grads" }],
  };
  const layout = computeLayout(request);
  assert.ok(top(layout, "backward") > bottom(layout, "b"), JSON.stringify(layout.nodes));
  assert.ok(top(layout, "grads") > bottom(layout, "backward"), JSON.stringify(layout.nodes));
});

test("a group's layout request carries its children's roles", () => {
  const child = (path: string, role?: string): VisibleNode => ({
    path, label: path, kind: "scope", ...(role ? { role } : {}), numOps: 1, childCount: 0, expandable: false,
    expanded: false, children: [], edges: [],
  });
  const group = { ...child("m"), children: [child("m/dense"), child("m/backward", "backward")] };
  const request = layoutRequestFor(group, () => SIZE);
  assert.deepEqual(request.nodes.map((node) => node.role), [undefined, "backward"]);
});
