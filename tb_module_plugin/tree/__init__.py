"""The plain model: groups, ops, edges, scopes and the built Hierarchy's lookups (it computes no answer and no measure)."""
