"""A training step whose tf.Modules' `__call__` is a tf.function, called from a plain Python `__call__` (the style of
the README's DemoModule): TensorFlow expands each call's backward function in place, its gradient ops in a
top-level `PartitionedCall_N/gradients/net/<module>/...`. Each module's backward pass must be with the module, as
where the outer call is a tf.function too; truth from the step's own functions (the gradient ops TensorFlow names
after each module's forward ops) and from the modules' shapes."""

import pytest

from tests.helpers.compare_models import load
from tests.helpers.traces import in_place_step, tf
from tb_module_plugin import summary as module_summary
from tb_module_plugin.measures import backward
from tb_module_plugin.tree.hierarchy import ops_under

BATCH = 32


class Dense(tf.Module):
    def __init__(self, n_in, n_out, name=None):
        super().__init__(name=name)
        with self.name_scope:
            self.w = tf.Variable(tf.random.normal([n_in, n_out], seed=1), name="w")
            self.b = tf.Variable(tf.zeros([n_out]), name="b")

    @tf.function
    def __call__(self, x):
        with self.name_scope:
            return tf.nn.relu(tf.matmul(x, self.w) + self.b)


class Net(tf.Module):
    def __init__(self):
        super().__init__(name="net")
        with self.name_scope:
            self.stem, self.mid, self.head = Dense(64, 64, name="stem"), Dense(64, 64, name="mid"), Dense(64, 8,
                                                                                                          name="head")

    def __call__(self, x):  # (plain Python: the calls below are the tf.functions)
        with self.name_scope:
            return self.head(self.mid(self.stem(x)))


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    net = Net()
    step = in_place_step(net)
    x = tf.ones([BATCH, 64])
    logdir = tmp_path_factory.mktemp("calls")
    writer = tf.summary.create_file_writer(str(logdir / "record"))
    with writer.as_default():
        assert module_summary.module_graph("step", net, x, fn=step)
    writer.close()
    # The gradient ops of each module, as the step's functions name them (`gradients/net/stem/MatMul_grad/MatMul`).
    library = step.get_concrete_function(x).graph.as_graph_def().library.function
    gradient_ops = {name: {node.name for f in library for node in f.node_def
                           if node.name.startswith(f"gradients/net/{name}/")} for name in ("stem", "mid", "head")}
    return load(logdir, "record", "step"), net, gradient_ops


def test_each_modules_gradient_ops_are_in_its_backward_group(recorded):
    hierarchy, net, gradient_ops = recorded
    for name, want in gradient_ops.items():
        assert want, name  # (the step's functions hold them)
        module = hierarchy.find(f"net/{name}")
        assert module.kind == "module" and backward.holds_backward(hierarchy, module), name
        placed = {op.op_name for group in module.children.values() if group.role == "backward"
                  for op in ops_under(group)}
        assert want <= placed, (name, sorted(want - placed))
    # No tape scope is left at the top level or inside one, where a module's gradient ops would be outside it.
    for top in hierarchy.root.children.values():
        assert not any(op.op_name.startswith("gradients/net/") for op in ops_under(top)) or top.name == "net", top.name


def test_each_modules_backward_flops_are_its_kernel_gradient_and_more(recorded):
    """The kernel's gradient (x^T times the gradient of its output: 2 * batch * in * out) is in each module's
    backward FLOPs; the first module's input gradient is not (nothing needs the data's gradient: TensorFlow never
    runs it), the others' is (the module before needs it)."""
    hierarchy, net, _ = recorded
    for name, needs_input_gradient in (("stem", False), ("mid", True), ("head", True)):
        module = getattr(net, name)
        n_in, n_out = module.w.shape
        kernel_gradient = 2 * BATCH * n_in * n_out
        flops = backward.flops_of(hierarchy, hierarchy.find(f"net/{name}"))
        low = kernel_gradient * (2 if needs_input_gradient else 1)
        assert low <= flops < low + kernel_gradient // 8, (name, flops, low)  # (bias and ReLU gradients: small)
