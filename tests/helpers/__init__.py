"""What the tests share, one module per job; tests import them as `from tests.helpers.<module> import <name>` or
`from tests.helpers import <module>` (pytest runs from the repository root: pytest.ini's `pythonpath = .`).

    processes     the tests' Python in a subprocess, `tensorboard` processes and HTTP to them, Chromium's settings
    records       logdirs: the demo and small traces (in a subprocess), records written by hand
    answers       the plugin's routes in-process, an answer's JSON, error and schema fit, walking a tree answer
    trees         the plugin's tree of a GraphDef built in-process
    traces        graphs written by real TensorFlow in the test process
    hostile       bad, huge and markup-named records
    truth         what live Keras / tf.Module objects say of themselves (the corpus's truth)
    corpus        models from real libraries recorded, with their truth (`python -m tests.helpers.corpus LOGDIR`)
    costs_corpus  graphs with costs and profiles to check (`python -m tests.helpers.costs_corpus LOGDIR`)
    variations    everyday variations of real code (`python -m tests.helpers.variations LOGDIR`)
    keras_fit     Keras models trained with the ModuleGraph callback (`python -m tests.helpers.keras_fit LOGDIR`)
    golden        the golden answers (`python -m tests.helpers.golden [--write]`)
    browser       a Playwright page that records console errors, page errors and dialogs
    fuzz_records  atheris fuzzing of the record readers
"""
