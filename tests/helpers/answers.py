"""Asking the plugin and checking its answers: the plugin's routes in-process (no tensorboard process), an
answer's JSON or error, its fit to the schema, walking a tree answer. No TensorFlow here.
"""

import json

from tests.helpers.processes import Response


# --- The plugin without a tensorboard process ---------------------------------------
def make_client(logdir, flags=None):
    """The plugin's routes over a MultiplexerDataProvider of `logdir` (loaded once, no
    tensorboard process): (werkzeug test client, plugin). Routes are the plugin's own:
    `/hierarchy`, `/static/style.css`. `flags`: TensorBoard's parsed flags, if any."""
    from tensorboard.plugins import base_plugin
    from werkzeug import test as werkzeug_test
    from werkzeug import wrappers

    from tb_module_plugin.cli.main import logdir_data_provider
    from tb_module_plugin.serve.plugin import ModuleGraphPlugin

    provider = logdir_data_provider(str(logdir))
    plugin = ModuleGraphPlugin(base_plugin.TBContext(logdir=str(logdir), data_provider=provider, flags=flags))
    apps = plugin.get_plugin_apps()

    def app(environ, start_response):
        path = environ["PATH_INFO"]
        handler = apps.get(path) or (apps["/static/*"] if path.startswith("/static/") else None)
        if handler is None:
            return wrappers.Response("no route", status=404)(environ, start_response)
        return handler(environ, start_response)

    return werkzeug_test.Client(app), plugin


def parsed_graphs(store) -> set:
    """(run, tag) of every graph a plugin's store parsed and keeps (built, or failed to read): its own record of
    what it parsed, the cache's keys (eid, record, blob keys)."""
    return {(key[1].run, key[1].tag) for key in list(store.cache._entries) if key[0] != "profile"}


def client_get(client, route, **params):
    """(status, JSON body) of GET `route` through a make_client client."""
    response = client.get(route, query_string=params)
    return response.status_code, json.loads(response.get_data())


class InProcess:
    """make_client behind TensorBoard's `api()`, so one check serves both."""

    def __init__(self, logdir, flags=None):
        self.client, self.plugin = make_client(logdir, flags)

    def api(self, route, **params):
        r = self.client.get("/" + route, query_string=params)
        return Response(r.status_code, dict(r.headers), r.get_data())


def ok_json(response):
    """The JSON body of a 200 answer (and that it is JSON)."""
    assert response.status == 200, response
    assert response.headers.get("Content-Type", "").startswith("application/json"), response.headers
    return response.json()


def error(response, status):
    """The message of an error answer: `{"error": str}` (and `"kind": "profile"` for a profile's) with `status`, as
    JSON."""
    assert response.status == status, response
    assert response.headers.get("Content-Type", "").startswith("application/json"), response.headers
    body = response.json()
    assert set(body) - {"kind"} == {"error"} and body.get("kind", "profile") == "profile", body
    assert isinstance(body["error"], str) and body["error"].strip(), body
    assert "Traceback" not in body["error"], body
    return body["error"]


def check_against(value, expected, where="answer"):
    """`value` fits `expected`, a record of tb_module_plugin/schema.py or a typing form of one: every required field
    there, no field the record does not declare, each of its declared type (recursively)."""
    import typing

    origin, args = typing.get_origin(expected), typing.get_args(expected)
    if typing.is_typeddict(expected):
        assert isinstance(value, dict), (where, value)
        hints = typing.get_type_hints(expected)
        missing = expected.__required_keys__ - set(value)
        unknown = set(value) - set(hints)
        assert not missing and not unknown, (where, expected.__name__, sorted(missing), sorted(unknown))
        for key, item in value.items():
            check_against(item, hints[key], f"{where}.{key}")
    elif origin is typing.Literal:
        assert value in args, (where, value, args)
    elif origin is typing.Union:
        errors = []
        for option in args:
            try:
                check_against(value, option, where)
                return
            except AssertionError as e:
                errors.append(e)
        raise AssertionError((where, value, errors))
    elif origin is list:
        assert isinstance(value, list), (where, value)
        for i, item in enumerate(value):
            check_against(item, args[0], f"{where}[{i}]")
    elif origin is dict:
        assert isinstance(value, dict), (where, value)
        for key, item in value.items():
            check_against(key, args[0], f"{where} key")
            check_against(item, args[1], f"{where}[{key!r}]")
    elif expected is type(None):
        assert value is None, (where, value)
    elif expected is int:
        assert isinstance(value, int) and not isinstance(value, bool), (where, value)
    elif expected is float:
        assert isinstance(value, (int, float)) and not isinstance(value, bool), (where, value)
    else:
        assert isinstance(value, expected), (where, value, expected)


def check_node_shape(node, parent_path=None):
    """A `hierarchy` answer's node: of the schema's HierarchyNode, and the rules between its fields (paths made
    of names, edges between listed children, op counts that add up), recursively."""
    from tb_module_plugin import schema

    if parent_path is None:
        check_against(node, schema.HierarchyNode, node.get("path", "node"))
    assert node["num_ops"] >= 1 or node["kind"] != "op", node
    if parent_path is not None:
        assert "/" not in node["name"], node["name"]
        expected = node["name"] if parent_path == "" else parent_path + "/" + node["name"]
        assert node["path"] == expected, (node["path"], expected)
    if node["kind"] == "op":
        assert isinstance(node["op"], str) and node["op"], node
        assert node["num_ops"] == 1, node
        assert "children" not in node or node["children"] == [], node
    else:
        assert isinstance(node["num_children"], int), node
        if "children" in node:
            assert len(node["children"]) == node["num_children"], node["path"]
            assert isinstance(node.get("edges"), list), f"{node['path']!r} lists children but no edges"
            child_paths = {c["path"] for c in node["children"]}
            for e in node["edges"]:
                assert e["from"] in child_paths and e["to"] in child_paths, e
                assert e["from"] != e["to"], e
                assert isinstance(e["count"], int) and e["count"] >= 1, e
                assert isinstance(e["control"], bool), e
            for c in node["children"]:
                check_node_shape(c, node["path"])
            assert node["num_ops"] == sum(c["num_ops"] for c in node["children"]), node["path"]
        else:
            assert isinstance(node["has_children"], bool), node



def walk(node, parents=()):
    """Yield (node, ancestors) over a NODE dict from the hierarchy route."""
    yield node, parents
    for child in node.get("children", ()):
        yield from walk(child, parents + (node,))


def find_group(tb, run, tag, name, kind=None):
    """The path of the shallowest group called `name` (via the search route) of a TensorBoard or InProcess."""
    matches = ok_json(tb.api("search", run=run, tag=tag, q=name, limit=500))["matches"]
    for m in matches:
        if m["name"] == name and m["kind"] != "op" and (kind is None or m["kind"] == kind):
            return m["path"]
    raise AssertionError(f"no group named {name!r} in {run}/{tag}: {matches[:20]}")


# --- Whole trees, and the corpus's truth about them ---------------------------------------
def full_tree(tb, run, tag, path=""):
    """The whole hierarchy below `path` through the API (8 levels an answer, asked again below that)."""
    node = ok_json(tb.api("hierarchy", run=run, tag=tag, path=path, depth=8))["node"]
    stack = [node]
    while stack:
        current = stack.pop()
        if current.get("has_children") and "children" not in current:
            current.update(full_tree(tb, run, tag, current["path"]))
        stack.extend(current.get("children", []))
    return node


def nodes(tree):
    return [n for n, _ in walk(tree)]


def record_modules(tree) -> list:
    return [n for n in nodes(tree) if n["kind"] == "module" and "attribute_path" in n]


def check_record(tree, entry, where: str) -> None:
    """Every module object is one node at one of its attribute paths, with its class and the framework's
    counts; aliases are other paths to it; shared variables are marked."""
    by_path = {}
    for module in entry["modules"]:
        for path in module["paths"]:
            by_path[path] = module
    seen = {}
    for node in record_modules(tree):
        module = by_path.get(node["attribute_path"])
        assert module is not None, (where, node["path"], node["attribute_path"])
        assert module["index"] not in seen, (where, node["path"], seen.get(module["index"]))
        seen[module["index"]] = node["path"]
        assert node["class_name"] == module["class_name"], (where, node["path"])
        assert (node["num_params"], node["num_trainable_params"]) == (
            module["num_params"], module["num_trainable_params"]), (where, node["path"], module["paths"][0])
        assert node["frozen"] == (module["num_params"] > 0 and module["num_trainable_params"] == 0), node["path"]
        assert set(node.get("aliases", [])) <= set(module["paths"]), (where, node["path"], node.get("aliases"))
        own = sorted((v["name"], v["shared"]) for v in module["own_variables"])
        assert sorted((v["name"], v["shared"]) for v in node["variables"]) == own, (where, node["path"])
    missing = [m["paths"][0] for m in entry["modules"] if m["index"] not in seen]
    assert not missing, (where, missing)
