"""The build: a reader's ops placed at their scopes, the passes in order, a training step's backward groups."""
