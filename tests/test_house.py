"""The house rules of tb_module_plugin/ (docs/architecture.md): each folder is a stage with a rank, a module imports
only from its own stage or lower-ranked ones, no two modules import each other (directly or round a circle), and no
product file is over 400 lines. Read from the sources with `ast` (imports inside functions count too): fast, no
TensorFlow."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "tb_module_plugin"
MAX_LINES = 400

# The stages in the order data flows (docs/architecture.md): a module may import from its own rank or lower ones.
# The top-level modules: shared vocabulary (lowest) and the public entry points (highest: they only re-export).
RANKS = {
    "schema": 0, "errors": 0,
    "tree": 1,
    "readers": 2,
    "build": 3,
    "measures": 4,
    "compare": 5,
    "serve": 6,
    "recording": 7,
    "cli": 8,
    "__init__": 9, "__main__": 9, "summary": 9,
}


def _modules() -> dict:
    """Dotted name -> path of every product module."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__" and len(parts) > 1 and parts[:-1] != ["tb_module_plugin"]:
            parts = parts[:-1]  # a stage package: its __init__ is the package
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, modules: dict) -> set:
    """The product modules `name` imports, anywhere in its text."""
    is_package = path.name == "__init__.py"
    package = name.split(".") if is_package else name.split(".")[:-1]
    if name == "tb_module_plugin.__init__":
        package = ["tb_module_plugin"]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            # `from a import b`: the module a.b when it is one, else a name of a
            targets = [f"{module}.{alias.name}" if f"{module}.{alias.name}" in modules else module
                       for alias in node.names]
        else:
            continue
        for target in targets:
            if target == "tb_module_plugin":
                target = "tb_module_plugin.__init__"
            if target.startswith("tb_module_plugin") and target != name:
                found.add(target)
    return found


def _rank(module: str) -> int:
    parts = module.split(".")
    return RANKS[parts[1]]


def _graph() -> dict:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def test_every_folder_and_top_level_module_has_a_rank():
    unranked = sorted({name.split(".")[1] for name in _modules() if len(name.split(".")) > 1} - set(RANKS))
    assert not unranked, f"give these a rank here and a place in docs/architecture.md: {unranked}"


def test_imports_go_only_to_the_same_stage_or_a_lower_one():
    upward = sorted(f"{name} ({_rank(name)}) imports {target} ({_rank(target)})"
                    for name, targets in _graph().items() for target in targets if _rank(target) > _rank(name))
    assert not upward, "\n".join(upward)


def test_no_import_circles():
    graph = _graph()
    cycles = []
    state = {}  # name -> 1 on the stack, 2 done

    def visit(name, stack):
        state[name] = 1
        stack.append(name)
        for target in sorted(graph.get(name, ())):
            if state.get(target) == 1:
                cycles.append(" -> ".join(stack[stack.index(target):] + [target]))
            elif target not in state:
                visit(target, stack)
        stack.pop()
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [])
    assert not cycles, "\n".join(cycles)


def test_the_checks_see_imports_inside_functions_and_circles():
    """The walk finds an import written inside a function, and the circle check finds a circle."""
    modules = _modules()
    imports = _imports("tb_module_plugin.serve.plugin", modules["tb_module_plugin.serve.plugin"], modules)
    assert "tb_module_plugin.schema" in imports
    source = "def f():\n    from ..tree import hierarchy\n"
    lazy = {n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ImportFrom)}
    assert len(lazy) == 1  # (ast.walk reaches into function bodies, which the checks above rely on)


def test_no_product_file_is_over_400_lines():
    long = {str(path.relative_to(PACKAGE.parent)): n for path in PACKAGE.rglob("*.py")
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"split these by job: {long}"


def test_the_architecture_page_draws_these_stages_and_every_module():
    """docs/architecture.md gives each stage the rank written here, and names every module of the product."""
    import re

    text = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    documented = {}
    for rank, cell in re.findall(r"^\| (\d+) \| ([^|]+) \|", text, re.MULTILINE):
        for name in re.findall(r"`([\w.]+?)(?:\.py|/)`", cell):
            documented[name] = int(rank)
    assert documented == RANKS
    missing = sorted(str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
                     if path.name != "__init__.py" and f"`{path.name}`" not in text)
    assert not missing, f"name these in docs/architecture.md: {missing}"


def _private_uses(source: str, modules: dict, package: list) -> list:
    """`module._name` and `from module import _name` in `source` where the module is a product module: a name
    its own module keeps private, used from another."""
    tree = ast.parse(source)
    bound, found = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                if f"{module}.{alias.name}" in modules:
                    bound.add(alias.asname or alias.name)
                elif alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append(f"from {module} import {alias.name}")
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound
                and node.attr.startswith("_") and not node.attr.startswith("__")):
            found.append(f"{node.value.id}.{node.attr}")
    return found


def test_no_module_uses_another_modules_private_names():
    """What a module shares it names without a leading underscore (one definition, used from its module); a
    `_name` is that module's own."""
    modules = _modules()
    uses = {}
    for name, path in modules.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        found = _private_uses(path.read_text(encoding="utf-8"), modules, package)
        if found:
            uses[name] = found
    assert not uses, uses
    # (the check sees both forms)
    sample = "from . import query\nfrom .query import _flag\nquery._whole_number(1)\n"
    assert sorted(_private_uses(sample, modules, ["tb_module_plugin", "serve"])) == [
        "from tb_module_plugin.serve.query import _flag", "query._whole_number"]
