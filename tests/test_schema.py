"""The one schema of the API (tb_module_plugin/schema.py): what is generated from it is up to date, and every
answer the engine gives fits its record."""

import subprocess
import sys

import pytest

from tests.helpers.answers import check_against
from tests.helpers.processes import REPO
from tb_module_plugin.cli import main as cli
from tb_module_plugin import schema
from tb_module_plugin.build import sources
from tb_module_plugin.errors import GraphError
from tb_module_plugin.serve import answers as answers_lib
from tb_module_plugin.serve import search as search_lib


def test_generated_types_and_field_reference_are_up_to_date():
    """frontend/src/types.ts and the field tables of docs/api.md are what tools/schema_codegen.py makes of the
    schema (run it after changing the schema)."""
    result = subprocess.run([sys.executable, str(REPO / "tools" / "schema_codegen.py"), "--check"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_the_api_reference_names_every_record_and_no_other():
    """The prose of docs/api.md speaks of the records the schema has (no `role: "call"` that nothing emits)."""
    import re

    text = (REPO / "docs" / "api.md").read_text()
    prose = text[:text.index("## Fields")]
    records = {name for name in vars(schema) if not name.startswith("_") and name[0].isupper() and name != "ROUTES"}
    op_types = {"Const", "MatMul"}  # the prose's op types, which are not records
    named = set(re.findall(r"`([A-Z][A-Za-z]+)`", prose)) - op_types
    assert named <= records, sorted(named - records)
    for route, answer in schema.ROUTES.items():
        assert f"`{answer.__name__}`" in prose, (route, answer.__name__)


def _answers(logdir, limit=2000):
    """(where, answer, record) for the answers of every graph of a logdir: hierarchy of every group (depth 1),
    node of every node, searches."""
    from tensorboard import context

    provider = cli.logdir_data_provider(str(logdir))
    ctx = context.RequestContext()
    for record in sources.list_graphs(provider, ctx, ""):
        check_against(record.to_json(), schema.GraphEntry, "graph")
        blobs = sources.read_blobs(provider, ctx, record, sources.latest_blob_keys(provider, ctx, "", record))
        try:
            hierarchy = sources.build_hierarchy(record, blobs)
        except GraphError as e:
            yield f"{record.run}/{record.tag}", {"error": str(e)}, schema.ErrorAnswer
            continue
        nodes = hierarchy.all_nodes[:limit]
        for node in nodes:
            where = f"{record.run}/{record.tag}:{node.path}"
            if node.children is not None:
                yield where, {"node": answers_lib.node_json(hierarchy, node.path, 1)}, schema.HierarchyAnswer
            yield where, {"node": answers_lib.details_json(hierarchy, node.path)}, schema.NodeAnswer
        for query, regex in (("a", False), ("_[0-9]", True)):
            yield f"{record.run}/{record.tag}:search", search_lib.search(hierarchy, query, regex, 500), schema.SearchResult


@pytest.mark.parametrize("logdir_fixture", [pytest.param("demo_logdir", marks=pytest.mark.live), "hostile_logdir",
                                            pytest.param("corpus_logdir", marks=pytest.mark.corpus)])
def test_every_answer_fits_its_record(request, logdir_fixture):
    count = 0
    for where, answer, record in _answers(request.getfixturevalue(logdir_fixture)):
        check_against(answer, record, where)
        count += 1
    assert count > 50
