// An in-memory graph that answers like the plugin's API (docs/api.md), for the unit tests.

import type { Api, GraphRef } from "../src/api";
import { ApiError } from "../src/api";
import type {
  CostMeasure,
  DiffNode,
  DiffStatus,
  GroupRole,
  HierarchyEdge,
  HierarchyNode,
  NodeDetails,
  NodeKind,
  OpRole,
  SearchMatch,
  SearchResult,
  ValuesAnswer,
} from "../src/types";

type Role = GroupRole | OpRole;

interface FakeNode {
  path: string;
  name: string;
  kind: NodeKind;
  role?: Role;
  op?: string;
  /** Producing op paths; "^path" is a control input. */
  inputs: string[];
  dtype: string;
  shape: string;
  children: FakeNode[];
}

function parentOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "" : path.slice(0, slash);
}

export class FakeGraph {
  private readonly nodes = new Map<string, FakeNode>();
  readonly root: FakeNode;

  constructor(readonly tag: string) {
    this.root = { path: "", name: tag, kind: "scope", inputs: [], dtype: "", shape: "", children: [] };
    this.nodes.set("", this.root);
  }

  group(path: string, kind: "module" | "scope", role?: GroupRole): this {
    this.add({ path, name: path.split("/").pop()!, kind, inputs: [], dtype: "", shape: "", children: [], ...(role ? { role } : {}) });
    return this;
  }

  op(path: string, op: string, inputs: string[] = [], options: { role?: OpRole; dtype?: string; shape?: string } = {}): this {
    const { role, dtype = "float32", shape = "[8,16]" } = options;
    this.add({ path, name: path.split("/").pop()!, kind: "op", op, inputs, dtype, shape, children: [], ...(role ? { role } : {}) });
    return this;
  }

  private add(node: FakeNode): void {
    const parent = this.nodes.get(parentOf(node.path));
    if (!parent) throw new Error(`no parent for ${node.path}`);
    parent.children.push(node);
    this.nodes.set(node.path, node);
  }

  private find(path: string): FakeNode {
    const node = this.nodes.get(path);
    if (!node) throw new ApiError(`No node "${path}" in graph "${this.tag}".`, 404);
    return node;
  }

  private ops(node: FakeNode): FakeNode[] {
    return node.kind === "op" ? [node] : node.children.flatMap((child) => this.ops(child));
  }

  private inside(path: string, group: FakeNode): boolean {
    return group.path === "" || path === group.path || path.startsWith(`${group.path}/`);
  }

  /** The child of `group` whose subtree holds `path`. */
  private childHolding(group: FakeNode, path: string): string {
    const rest = group.path === "" ? path : path.slice(group.path.length + 1);
    const first = rest.split("/")[0]!;
    return group.path === "" ? first : `${group.path}/${first}`;
  }

  private edgesOf(group: FakeNode): HierarchyEdge[] {
    const edges = new Map<string, HierarchyEdge>();
    for (const consumer of this.ops(group)) {
      for (const input of consumer.inputs) {
        const control = input.startsWith("^");
        const producerPath = input.replace(/^\^/, "");
        if (!this.inside(producerPath, group)) continue;
        const from = this.childHolding(group, producerPath);
        const to = this.childHolding(group, consumer.path);
        if (from === to) continue;
        const producer = this.find(producerPath);
        const key = `${from}\n${to}`;
        const edge = edges.get(key) ?? { from, to, count: 0, dtypes: [], shapes: [], control: true };
        edge.count += 1;
        edge.control &&= control;
        if (!control && !edge.dtypes.includes(producer.dtype)) edge.dtypes.push(producer.dtype);
        if (!control && !edge.shapes.includes(producer.shape)) edge.shapes.push(producer.shape);
        edges.set(key, edge);
      }
    }
    return [...edges.values()];
  }

  private describe(node: FakeNode, depth: number): HierarchyNode {
    const result: HierarchyNode = { path: node.path, name: node.name, kind: node.kind, num_ops: this.ops(node).length };
    if (node.role) result.role = node.role;
    if (node.kind === "op") {
      result.op = node.op!;
      result.device = "/device:CPU:0";
      result.inputs = node.inputs.map((input) => ({ path: input.replace(/^\^/, ""), port: "0", control: input.startsWith("^") }));
      result.attrs = { T: `DT_${node.dtype.toUpperCase()}` };
      return result;
    }
    result.num_children = node.children.length;
    if (depth > 0) {
      result.children = node.children.map((child) => this.describe(child, depth - 1));
      result.edges = this.edgesOf(node);
    } else {
      result.has_children = node.children.length > 0;
    }
    return result;
  }

  hierarchy(path: string, depth = 1): HierarchyNode {
    return this.describe(this.find(path), depth);
  }

  /** As this graph were the union tree of a comparison: each node's status from `diffStatus` (same where it names
   * none), with the counts of statuses below groups, as the `diff` route answers. */
  readonly diffStatus = new Map<string, DiffStatus>();

  diff(path: string, depth = 1): DiffNode {
    const mark = (listed: HierarchyNode): DiffNode => {
      const out: DiffNode = { ...listed, diff: this.diffStatus.get(listed.path) ?? "same" };
      if (listed.kind !== "op") {
        const counts: Partial<Record<DiffStatus, number>> = {};
        const visit = (node: FakeNode) => {
          for (const child of node.children) {
            const status = this.diffStatus.get(child.path) ?? "same";
            counts[status] = (counts[status] ?? 0) + 1;
            visit(child);
          }
        };
        visit(this.find(listed.path));
        out.counts = counts;
      }
      if (listed.children) out.children = listed.children.map(mark);
      return out;
    };
    return mark(this.hierarchy(path, depth));
  }

  /** The `values` answer: a fake measure of each node below `paths` (time: 1.5 us per op, none for an `_Arg`;
   * FLOPs: 2 per op), as the server gives it. */
  values(measure: CostMeasure, paths: readonly string[], depth = 1): ValuesAnswer {
    const values: ValuesAnswer["values"] = {};
    const visit = (node: FakeNode, levels: number) => {
      const ops = this.ops(node).filter((op) => measure !== "time" || op.op !== "_Arg");
      if (measure === "params") values[node.path] = {};
      else if (ops.length === 0) values[node.path] = { unknown: [measure] };
      else values[node.path] = measure === "time" ? { time_us: 1.5 * ops.length } : { flops: 2 * ops.length };
      if (levels > 0) node.children.forEach((child) => visit(child, levels - 1));
    };
    for (const path of paths) visit(this.find(path), depth);
    return { measure, values, pending: false };
  }

  details(path: string): NodeDetails {
    const node = this.find(path);
    const { children: _children, edges: _edges, has_children: _has, inputs: _inputs, ...base } = this.describe(node, 0);
    const ancestors: string[] = [];
    for (let p = parentOf(path); p !== ""; p = parentOf(p)) ancestors.unshift(p);
    const members = this.ops(node);
    const memberPaths = new Set(members.map((op) => op.path));
    const endpoint = (producer: FakeNode, control: boolean) => ({
      path: producer.path,
      port: "0",
      dtype: producer.dtype,
      shape: producer.shape,
      control,
    });
    const inputs = members.flatMap((op) =>
      op.inputs
        .filter((input) => !memberPaths.has(input.replace(/^\^/, "")))
        .map((input) => endpoint(this.find(input.replace(/^\^/, "")), input.startsWith("^"))),
    );
    const outputs = [...this.nodes.values()]
      .filter((consumer) => consumer.kind === "op" && !memberPaths.has(consumer.path))
      .flatMap((consumer) =>
        consumer.inputs
          .filter((input) => memberPaths.has(input.replace(/^\^/, "")))
          .map((input) => ({ ...endpoint(consumer, input.startsWith("^")), dtype: this.find(input.replace(/^\^/, "")).dtype })),
      );
    const details: NodeDetails = { ...base, ancestors, inputs, outputs };
    if (node.kind === "op") {
      details.op_name = path;
    } else {
      const opTypes: Record<string, number> = {};
      for (const op of members) opTypes[op.op!] = (opTypes[op.op!] ?? 0) + 1;
      details.op_types = opTypes;
      details.captured_variables = node.children
        .filter((child) => child.role === "variable")
        .map((child) => ({ path: child.path, name: child.name, dtype: child.dtype, shape: child.shape }));
    }
    return details;
  }

  search(query: string, regex: boolean, limit = 50): SearchResult {
    let test: (text: string) => boolean;
    if (regex) {
      let pattern: RegExp;
      try {
        pattern = new RegExp(query, "i");
      } catch {
        throw new ApiError(`Invalid regular expression: ${query}`, 400);
      }
      test = (text) => pattern.test(text);
    } else {
      test = (text) => text.toLowerCase().includes(query.toLowerCase());
    }
    const all = [...this.nodes.values()].filter((node) => node.path !== "" && (test(node.name) || test(node.path)));
    all.sort(
      (a, b) =>
        Number(a.kind === "op") - Number(b.kind === "op") || a.path.split("/").length - b.path.split("/").length,
    );
    const matches: SearchMatch[] = all.slice(0, limit).map((node) => ({
      path: node.path,
      name: node.name,
      kind: node.kind,
      ...(node.op ? { op: node.op } : {}),
    }));
    return { matches, truncated: all.length > limit };
  }
}

/**
 * A small model with everything the page must handle: nested modules and scopes, special roles, a series,
 * a control-flow group, two groups large enough to be chunked, and names that look like HTML.
 */
export function buildDemoGraph(tag = "model", blocks = 3): FakeGraph {
  const graph = new FakeGraph(tag);
  graph.group("inputs", "scope", "inputs").op("inputs/x", "_Arg", [], { shape: "[8,16]" });
  const variables = 320;
  for (let i = 0; i < variables; i++) {
    graph.op(`inputs/var_${i}`, "_Arg", [], { role: "variable", dtype: "resource", shape: "[]" });
  }
  graph.group("encoder", "module");
  let previous = "inputs/x";
  for (let b = 0; b < blocks; b++) {
    const block = `encoder/block_${b}`;
    graph.group(block, "module").group(`${block}/dense`, "module");
    graph
      .op(`${block}/dense/ReadVariableOp`, "ReadVariableOp", [`inputs/var_${2 * b}`], { shape: "[16,16]" })
      .op(`${block}/dense/MatMul`, "MatMul", [previous, `${block}/dense/ReadVariableOp`])
      .group(`${block}/dense/BiasAdd`, "scope")
      .op(`${block}/dense/BiasAdd/ReadVariableOp`, "ReadVariableOp", [`inputs/var_${2 * b + 1}`], { shape: "[16]" })
      .op(`${block}/dense/BiasAdd/(BiasAdd)`, "BiasAdd", [`${block}/dense/MatMul`, `${block}/dense/BiasAdd/ReadVariableOp`])
      .op(`${block}/relu`, "Relu", [`${block}/dense/BiasAdd/(BiasAdd)`]);
    previous = `${block}/relu`;
  }
  graph.group("AddN[0-3]", "scope", "series");
  for (let i = 0; i < 4; i++) graph.op(`AddN[0-3]/AddN_${i}`, "AddN", [previous, previous]);
  graph
    .group("gate", "scope", "control_flow")
    .op("gate/(cond)", "StatelessIf", ["AddN[0-3]/AddN_3"])
    .group("gate/then", "scope", "branch")
    .op("gate/then/mul", "Mul", ["gate/(cond)"])
    .group("gate/else", "scope", "branch")
    .op("gate/else/Identity", "Identity", ["gate/(cond)"]);
  graph.group("wide", "module");
  for (let i = 0; i < 240; i++) graph.op(`wide/add_${i}`, "AddV2", [i === 0 ? "gate/then/mul" : `wide/add_${i - 1}`]);
  // An op named "<script>alert(1)</script>" is the op "script>" in the scope "<script>alert(1)<".
  graph
    .group("<script>alert(1)<", "scope")
    .op("<script>alert(1)</script>", "Identity", ["wide/add_239"])
    .op("<img src=x onerror=alert(1)>", "NoOp", ["^<script>alert(1)</script>"], { dtype: "", shape: "" })
    .group("outputs", "scope", "outputs")
    .op("outputs/Identity", "Identity", ["<script>alert(1)</script>"])
    .op("outputs/output_0", "_Retval", ["outputs/Identity"]);
  return graph;
}

/** An Api over fake graphs, answering the way the real server does (ApiError with its message). */
export function fakeApi(graphs: FakeGraph[], run = "demo"): Api & { calls: string[]; pending: Partial<Record<CostMeasure, number>> } {
  const calls: string[] = [];
  /** How many more `values` answers of a measure say it is still pending. */
  const pending: Partial<Record<CostMeasure, number>> = {};
  const graphOf = (ref: GraphRef) => {
    const graph = graphs.find((candidate) => ref.run === run && candidate.tag === ref.tag);
    if (!graph) throw new ApiError(`No graph for run "${ref.run}" and tag "${ref.tag}".`, 404);
    return graph;
  };
  return {
    calls,
    pending,
    async values(ref, measure, paths, depth = 1) {
      calls.push(`values ${measure} ${paths.join(",")}`);
      const answer = graphOf(ref).values(measure, paths, depth);
      if ((pending[measure] ?? 0) <= 0) return answer;
      pending[measure]!--;
      return { measure, values: {}, pending: true };
    },
    async graphs() {
      calls.push("graphs");
      return { graphs: graphs.map((graph) => ({ run, tag: graph.tag, source: "trace" as const, profiled: false })) };
    },
    async hierarchy(ref, path, depth = 1) {
      calls.push(`hierarchy ${path}`);
      return graphOf(ref).hierarchy(path, depth);
    },
    async diff(ref, _other, path, depth = 1) {
      calls.push(`diff ${path}`);
      return graphOf(ref).diff(path, depth);
    },
    async diffTimes(ref, _other, path, depth = 1) {
      calls.push(`diff time ${path}`);
      return graphOf(ref).diff(path, depth);
    },
    async node(ref, path) {
      calls.push(`node ${path}`);
      return graphOf(ref).details(path);
    },
    async search(ref, query, regex, limit) {
      calls.push(`search ${query}`);
      return graphOf(ref).search(query, regex, limit);
    },
  };
}
