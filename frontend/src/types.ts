// Shapes of the JSON answered by the plugin's HTTP API (docs/api.md).

export type NodeKind = "module" | "scope" | "op";

export interface GraphEntry {
  run: string;
  tag: string;
  source: string;
}

export interface HierarchyEdge {
  from: string;
  to: string;
  count: number;
  dtypes: string[];
  shapes: string[];
  control: boolean;
}

export interface OpInput {
  path: string;
  port: string;
  control: boolean;
}

export interface HierarchyNode {
  path: string;
  name: string;
  kind: NodeKind;
  role?: string;
  op?: string;
  num_ops: number;
  num_children?: number;
  children?: HierarchyNode[];
  has_children?: boolean;
  edges?: HierarchyEdge[];
  device?: string;
  inputs?: OpInput[];
  attrs?: Record<string, string>;
}

export interface Endpoint {
  path: string;
  port: string;
  dtype?: string;
  shape?: string;
  control: boolean;
}

export interface VariableInfo {
  path: string;
  name: string;
  dtype?: string;
  shape?: string;
}

export interface NodeDetails {
  path: string;
  name: string;
  kind: NodeKind;
  role?: string;
  op?: string;
  num_ops: number;
  num_children?: number;
  has_children?: boolean;
  device?: string;
  attrs?: Record<string, string>;
  ancestors?: string[];
  op_name?: string;
  function?: string;
  inputs?: Endpoint[];
  outputs?: Endpoint[];
  op_types?: Record<string, number>;
  variables?: VariableInfo[];
}

export interface SearchMatch {
  path: string;
  name: string;
  kind: NodeKind;
  op?: string;
}

export interface SearchResult {
  matches: SearchMatch[];
  truncated: boolean;
}
