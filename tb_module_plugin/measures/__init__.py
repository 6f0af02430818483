"""Per-node values for a built tree: FLOPs and other costs, measured time, the backward part."""
