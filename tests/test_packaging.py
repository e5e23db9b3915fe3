"""How tfl_jupyter installs next to an existing TensorFlow."""

from importlib.metadata import requires

from packaging.requirements import Requirement


def _requirements():
    return [Requirement(text) for text in requires("tfl_jupyter") or []]


def test_no_tensorflow_distribution_is_required_unconditionally():
    # `tensorflow` and `tensorflow-cpu` are different distributions: requiring either
    # would install a second TensorFlow next to the other.
    unconditional = [r.name for r in _requirements() if r.marker is None]
    assert not [name for name in unconditional if name.startswith("tensorflow")], unconditional


def test_extras_offer_each_tensorflow_flavour():
    by_extra = {}
    for requirement in _requirements():
        if requirement.marker is not None:
            for extra in ("cpu", "gpu"):
                if requirement.marker.evaluate({"extra": extra}):
                    by_extra.setdefault(extra, []).append(requirement)
    assert [r.name for r in by_extra["cpu"]] == ["tensorflow-cpu"]
    assert [r.name for r in by_extra["gpu"]] == ["tensorflow"]
    assert all(r.specifier.contains("2.16") and not r.specifier.contains("2.15") for r in by_extra["cpu"] + by_extra["gpu"])
