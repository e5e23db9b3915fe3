"""Helpers for tests that start real Jupyter kernels on this interpreter."""

from __future__ import annotations

import os

from jupyter_client.kernelspec import KernelSpec, KernelSpecManager


def kernel_env(temp_dir) -> dict:
    """This process's environment without ``PYTEST_CURRENT_TEST``, with ``TMPDIR=temp_dir``.

    ipykernel stops forwarding file-descriptor output (where TensorFlow's C++ logs go)
    when it sees that variable; without it the kernel behaves as under Jupyter. The private
    TMPDIR keeps whatever the kernel and its converter worker leave behind out of /tmp.
    """
    env = {name: value for name, value in os.environ.items() if name != "PYTEST_CURRENT_TEST"}
    env["TMPDIR"] = str(temp_dir)
    return env


class ThisInterpreterKernelSpecs(KernelSpecManager):
    """Resolve every kernel name to ipykernel's native spec, which runs ``sys.executable``.

    An installed ``python3`` kernelspec (user-wide or system-wide) may point at another
    interpreter; the tests must exercise the package installed in this one.
    """

    def get_kernel_spec(self, kernel_name):
        from ipykernel.kernelspec import RESOURCES, get_kernel_dict

        return KernelSpec(resource_dir=RESOURCES, **get_kernel_dict())
