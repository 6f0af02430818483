"""Branches no other test reaches, each through what a user gets from it: `module_graph` with no default writer,
a SavedModel with no function to show, a SavedModel's metadata that is missing, damaged or not JSON, a remote
(`gs://`) logdir's profiles and a bucket that cannot be listed, and a search `limit` out of range."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from tensorboard.compat.proto import graph_pb2

from tests.helpers.answers import InProcess, error, ok_json
from tests.helpers.processes import QUIET_TF_ENV
from tb_module_plugin.errors import ProfileError
from tb_module_plugin.readers import profiles
from tb_module_plugin.recording import savedmodel
from tb_module_plugin.serve import search
from tb_module_plugin.build import sources
from tb_module_plugin import summary as module_summary
from tb_module_plugin.serve.store import GraphStore

from tests.helpers.traces import tf, write_run_graph


# --- recording ----------------------------------------------------------------------------------------------------
def test_module_graph_without_a_default_writer_says_it_wrote_nothing(tmp_path):
    """As tf.summary ops do: False where no writer is the default, True once one is."""
    module = tf.Module(name="lonely")
    with module.name_scope:
        module.w = tf.Variable(tf.ones([2]), name="w")
    fn = tf.function(lambda x: x * module.w)
    assert module_summary.module_graph("lonely", module, tf.ones([2]), fn=fn) is False
    writer = tf.summary.create_file_writer(str(tmp_path / "run"))
    with writer.as_default():
        assert module_summary.module_graph("lonely", module, tf.ones([2]), fn=fn) is True
    writer.close()


def _saved_without_functions(path):
    module = tf.Module(name="plain")
    module.v = tf.Variable(tf.ones([3]), name="v")
    tf.saved_model.save(module, str(path))
    return path


@pytest.mark.live
def test_a_savedmodel_without_any_function_is_refused_in_one_line(tmp_path):
    saved = _saved_without_functions(tmp_path / "saved")
    with pytest.raises(ValueError, match="has no signature or function to show") as refused:
        module_summary.savedmodel_record(str(saved), str(tmp_path / "logs" / "run"))
    assert str(saved) in str(refused.value)
    result = subprocess.run([sys.executable, "-m", "tb_module_plugin", "savedmodel", str(saved), "--logdir",
                             str(tmp_path / "logs" / "cli")], capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, **QUIET_TF_ENV))
    assert result.returncode == 1, result
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert lines == [f"error: The SavedModel at {saved} has no signature or function to show."], result.stderr


# --- a SavedModel's metadata ----------------------------------------------------------------------------------------
def _keras_metadata_bytes(entries: dict) -> bytes:
    """A `SavedMetadata` message by hand: nodes = 1 {node_id = 2, metadata = 5} (the layout savedmodel.py reads)."""
    def field(number, payload: bytes) -> bytes:
        return bytes([number << 3 | 2]) + _varint(len(payload)) + payload

    out = b""
    for node_id, metadata in entries.items():
        out += field(1, bytes([2 << 3]) + _varint(node_id) + field(5, metadata.encode()))
    return out


def _varint(n: int) -> bytes:
    out = b""
    while True:
        byte, n = n & 0x7F, n >> 7
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out


def test_keras_metadata_missing_damaged_or_readable(tmp_path):
    assert savedmodel.keras_metadata(str(tmp_path)) == {}  # model.save of Keras 3, tf.saved_model.save: none
    (tmp_path / "keras_metadata.pb").write_bytes(b"\x0a\xff\xff\xff not a message")
    assert savedmodel.keras_metadata(str(tmp_path)) == {}  # damaged: the object graph alone says what it can
    stem = json.dumps({"name": "stem", "class_name": "Dense"})
    (tmp_path / "keras_metadata.pb").write_bytes(_keras_metadata_bytes({3: stem, 300: "{}"}))
    assert savedmodel.keras_metadata(str(tmp_path)) == {3: stem, 300: "{}"}


class _Variable:
    def __init__(self, name):
        self.name = name


def _describe(identifier: str, metadata: str, path: str, variable_names=(), keras=None) -> dict:
    """SavedModelTree.describe of one object-graph node, without a SavedModel on disk."""
    from tensorflow.core.protobuf import saved_object_graph_pb2

    node = saved_object_graph_pb2.SavedObject()
    node.user_object.identifier = identifier
    node.user_object.metadata = metadata
    tree = savedmodel.SavedModelTree.__new__(savedmodel.SavedModelTree)  # (its __init__ reads a SavedModel)
    tree._nodes, tree._keras = [node], keras or {}
    return tree.describe(0, path, [(_Variable(n), True) for n in variable_names])


@pytest.mark.parametrize("metadata", ["", "{not json", "[1, 2]", json.dumps({"name": 7, "class_name": ["x"]})])
def test_savedmodel_objects_without_usable_metadata_are_named_from_what_else_is_there(metadata):
    """Metadata missing, not JSON, not an object, or of the wrong types: the name comes from the scopes the
    variables share, else the attribute path, else `model`; the class from what the object was saved as."""
    layer = _describe("_tf_keras_layer", metadata, "layers[0]", ["seq/dense/kernel:0", "seq/dense/bias:0"])
    assert layer == {"name": "dense", "class_name": "Keras layer", "scope": ""}
    assert _describe("_tf_keras_network", metadata, "model.inner")["name"] == "inner"
    assert _describe("_generic_user_object", metadata, "") == {"name": "model", "class_name": "", "scope": ""}


def test_savedmodel_keras_metadata_file_wins_over_the_object_graph():
    keras = {0: json.dumps({"name": "stem", "class_name": "Dense"})}
    described = _describe("_tf_keras_layer", json.dumps({"name": "other", "class_name": "Other"}), "layers[1]",
                          ["functional/stem/kernel:0"], keras=keras)
    assert described == {"name": "stem", "class_name": "Dense", "scope": ""}


# --- profiles of a remote logdir --------------------------------------------------------------------------------------
class _Bucket:
    """tf.io.gfile over a bucket: the calls it gets; `fail` makes each raise (an unreachable bucket)."""

    def __init__(self, files=(), fail=None):
        self.files, self.fail, self.calls = list(files), fail, []

    def isdir(self, path):
        self.calls.append(("isdir", path))
        if self.fail:
            raise self.fail
        return any(f.startswith(path + "/") for f in self.files)

    def glob(self, pattern):
        self.calls.append(("glob", pattern))
        return [f for f in reversed(self.files)]


def test_a_remote_logdirs_profiles_are_listed_with_slashes(monkeypatch):
    root = "gs://bucket/logs/train/step/plugins/profile"
    files = [f"{root}/2026_01_01_00_00_00/host.xplane.pb", f"{root}/2026_01_02_00_00_00/host.xplane.pb"]
    bucket = _Bucket(files)
    monkeypatch.setattr(profiles, "_gfile", lambda: bucket)
    assert profiles.profile_files("gs://bucket/logs", "train/step") == files  # newest session last
    assert bucket.calls == [("isdir", root), ("glob", f"{root}/*/*.xplane.pb")]


@pytest.mark.parametrize("failure", [OSError("permission denied"), ValueError("bad bucket name")])
def test_a_bucket_that_cannot_be_listed_is_a_run_without_profiles(monkeypatch, failure):
    """The listing's failure is no 5xx: the run has no profile, and asking for time says how to record one."""
    monkeypatch.setattr(profiles, "_gfile", lambda: _Bucket(fail=failure))
    assert profiles.profile_files("gs://bucket/logs", "train") == []
    store = GraphStore(None, logdir="gs://bucket/logs")
    record = sources.GraphRecord(run="train", tag="trace", source="trace", plugin_name="graphs")
    assert store.profiled_runs([record]) == set()
    with pytest.raises(ProfileError, match=r"Run 'train' holds no profile to read time from") as raised:
        store.times(None, "train")
    assert "tf.profiler.experimental.start" in str(raised.value)
    # The same record in a bucket that lists a profile is profiled: the empty answer above is the failure's.
    monkeypatch.setattr(profiles, "_gfile", lambda: _Bucket(["gs://bucket/logs/train/plugins/profile/s/h.xplane.pb"]))
    assert GraphStore(None, logdir="gs://bucket/logs").profiled_runs([record]) == {"train"}


# --- a search limit out of range -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def plugin(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("limits")
    g = graph_pb2.GraphDef()
    for i in range(search.MAX_SEARCH_LIMIT + 20):  # more matches than the largest limit
        g.node.add(name=f"block_{i}/op", op="Relu")
    write_run_graph(str(logdir / "many"), g)
    return InProcess(logdir)


@pytest.mark.parametrize("limit", ["0", "-1", str(search.MAX_SEARCH_LIMIT + 1), "10000000000000000000000"])
def test_an_out_of_range_limit_is_a_400_that_says_the_range(plugin, limit):
    message = error(plugin.api("search", run="many", tag="__run_graph__", q="block", limit=limit), 400)
    assert message == (f"'limit' must be a whole number from 1 to {search.MAX_SEARCH_LIMIT}, not {int(limit)}."), \
        message


@pytest.mark.parametrize("limit", [1, search.MAX_SEARCH_LIMIT])
def test_the_limits_at_the_ends_of_the_range_are_kept(plugin, limit):
    found = ok_json(plugin.api("search", run="many", tag="__run_graph__", q="block", limit=limit))
    assert len(found["matches"]) == limit and found["truncated"] is True
