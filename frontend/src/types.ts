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

/** A module among `count` sibling modules of the same structure; `key` names the first of them. */
export interface RepeatMark {
  key: string;
  count: number;
}

/** A variable a recorded module holds directly (hierarchy route; shape as a list of dimensions). */
export interface RecordedVariable {
  name: string;
  shape: (number | null)[] | string | null;
  dtype: string;
  /** As the framework that holds it says (Keras asks the layer or its variable, not the tf.Variable). */
  trainable: boolean;
  /** Another module holds it too: it is counted once, in the modules above both. */
  shared?: boolean;
}

/** Fields of module nodes: from a module record, estimated from a trace, or from a Keras callback layer. */
export interface ModuleFields {
  repeat?: RepeatMark;
  class_name?: string;
  attribute_path?: string;
  /** Other attribute paths that reach the same module object (its subtree is shown under `attribute_path`). */
  aliases?: string[];
  num_params?: number;
  num_trainable_params?: number;
  params_estimated?: boolean;
  frozen?: boolean;
  /** Keras callback layers: false means frozen. */
  trainable?: boolean;
}

export interface HierarchyNode extends ModuleFields {
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
  /** Module records: the variables the module owns directly. */
  variables?: RecordedVariable[];
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

export interface NodeDetails extends ModuleFields {
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
  /** Groups: captured variables placed directly in the group (the node route's meaning of "variables"). */
  variables?: (VariableInfo | RecordedVariable)[];
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
