"""A coverage-guided fuzz target (atheris) for the record parsers and the tree built from them.

Not part of `make test` (pytest does not collect it). Run it where atheris installs:

    .venv/bin/python -m pip install --target /tmp/atheris atheris
    PYTHONPATH=/tmp/atheris:. .venv/bin/python -m tests.helpers.fuzz_records -max_total_time=300 [corpus_dir]

Each input is a record of one kind (the first byte picks: run graph, trace, Keras JSON), built the
way the plugin builds it, then answered the way the routes answer. Anything raised but GraphError
(a 422), NotFound (404) or BadQuery (400) is a crash atheris reports with the input.
"""

import gc
import sys

import atheris
from tb_module_plugin.serve import answers as answers_lib
from tb_module_plugin.serve.settle import settle

with atheris.instrument_imports():
    from tb_module_plugin.readers import graph as graph_lib
    from tb_module_plugin.tree import hierarchy as tree_lib
    from tb_module_plugin.serve import search as search_lib
    from tb_module_plugin.build import sources

RECORDS = [
    sources.GraphRecord("run", sources.RUN_GRAPH_TAG, "run_graph", "graphs"),
    sources.GraphRecord("run", "trace", "trace", "graph_run_metadata_graph"),
    sources.GraphRecord("run", "keras", "keras", "graph_keras_model"),
]


def one_input(data: bytes) -> None:
    if not data:
        return
    record = RECORDS[data[0] % len(RECORDS)]
    try:
        h = sources.build_hierarchy(record, [data[1:]])
    except graph_lib.GraphError:
        return
    for node in h.all_nodes[:50]:
        answers_lib.node_json(h, node.path, 2)
        answers_lib.details_json(h, node.path)
    for query, regex in (("a", False), ("_[0-9]", True), ("(", True)):
        try:
            search_lib.search(h, query, regex, 50)
        except search_lib.BadQuery:
            pass
    try:
        answers_lib.node_json(h, "no/such/path", 1)
    except tree_lib.NotFound:
        pass
    settle(h)
    gc.unfreeze()  # a build freezes its tree (sources._no_gc): let the collector have it back


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
