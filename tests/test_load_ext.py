"""``%load_ext tfl_jupyter`` must stay fast: nothing heavy is imported until first use."""

import subprocess
import sys

HEAVY_MODULES = ("tensorflow", "keras", "pandas", "matplotlib", "ipywidgets", "ai_edge_litert")

PROBE = f"""
import sys
from IPython.testing.globalipapp import start_ipython
shell = start_ipython()
before = set(sys.modules)
shell.run_line_magic("load_ext", "tfl_jupyter")
import tfl_jupyter as tj
assert shell.find_line_magic("tflite_convert") is not None
assert shell.find_cell_magic("tflite_convert") is not None
new = set(sys.modules) - before
print("HEAVY:" + ",".join(m for m in {HEAVY_MODULES!r} if m in new))
"""


def test_load_ext_imports_nothing_heavy():
    completed = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert "HEAVY:\n" in completed.stdout  # the list after the marker is empty


def test_public_api_resolves_lazily():
    import tfl_jupyter as tj

    assert callable(tj.convert) and callable(tj.inspect) and callable(tj.demo_model)
    assert issubclass(tj.ConversionError, RuntimeError)
    assert {"convert", "inspect", "ConversionResult"} <= set(dir(tj))
