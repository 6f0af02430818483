"""Comparing two graphs module by module (the `diff` route and command): structure signatures computed per graph
(signature.py), the children of each pair of matched groups aligned (match.py), the union tree with each node's
status, changes and cost deltas (diff.py), its JSON answer (answer.py) and the command line's budgets (gate.py)."""
