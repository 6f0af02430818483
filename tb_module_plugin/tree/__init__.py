"""The plain model: groups, ops, edges, scopes and the built Hierarchy's lookups (no answers, no caches of them)."""
