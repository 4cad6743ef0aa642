"""The kernel manager and client the runner gives papermill (IPC sockets, extra env, sliced polls)."""

from __future__ import annotations

import os
import time
from pathlib import Path

__all__ = ["POLL_SLICE_S"]

POLL_SLICE_S = 1.0


def _sliced_client_class():
    """An ``AsyncKernelClient`` that waits for kernel messages in polls of at most 1 second.

    nbclient waits for a cell's reply with one long poll of the shell socket (no timeout, or
    the cell timeout). On this stack (pyzmq 27, jupyter_client 8, nbclient 0.11) that poll
    sometimes never wakes although the kernel has answered and gone idle: the forecasting
    notebook's ``interact`` cell hung in 10 of 45 runs here (as long as the cell timeout allowed,
    or for ever without one), and in CI it stalled the test run until the 90-minute limit (the
    open upstream report: jupyter/nbclient#312). The same waits made of polls of at most
    1 second hung in none of 60 runs. Timeouts keep their meaning: a wait ends when a message
    comes or its timeout has passed.
    """
    from queue import Empty

    from jupyter_client.asynchronous import AsyncKernelClient
    from jupyter_client.channels import AsyncZMQSocketChannel
    from traitlets import Type

    class _SlicedChannel(AsyncZMQSocketChannel):
        async def get_msg(self, timeout=None):
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                left = POLL_SLICE_S if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    return await super().get_msg(min(POLL_SLICE_S, left))
                except Empty:
                    if deadline is not None and time.monotonic() >= deadline:
                        raise

    class _SlicedKernelClient(AsyncKernelClient):
        shell_channel_class = Type(_SlicedChannel)
        iopub_channel_class = Type(_SlicedChannel)
        stdin_channel_class = Type(_SlicedChannel)
        control_channel_class = Type(_SlicedChannel)

    return _SlicedKernelClient


def _kernel_manager_class(extra_env: dict[str, str], stderr_path: Path | None = None):
    """An AsyncKernelManager that talks to the kernel over IPC sockets (POSIX) and adds env vars.

    IPC avoids TCP port races between parallel kernels and ipykernel's warning about unencrypted
    TCP; the extra environment caps BLAS threads when several kernels share the cores. The
    kernel's own stderr (its log, not cell output) goes to ``stderr_path`` instead of the console.
    Its clients poll in slices (see :func:`_sliced_client_class`).
    """
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    client_class = _sliced_client_class()

    class _BatchKernelManager(AsyncKernelManager):
        @default("transport")
        def _transport_default(self):
            return "ipc" if os.name == "posix" else "tcp"

        @default("ip")
        def _ip_default(self):
            if self.transport != "ipc":
                return super()._ip_default()
            # a unique socket prefix per kernel: jupyter_client's default ("kernel-ipc" in the
            # working folder) makes parallel kernels connect to each other's sockets
            import tempfile
            import uuid

            return os.path.join(tempfile.gettempdir(), f"toolkit-kernel-{uuid.uuid4().hex[:16]}-ipc")

        def client(self, **kwargs):
            # nbclient sets client_class to the stock async client after creating the manager
            self.client_factory = client_class
            return super().client(**kwargs)

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            env = dict(kw.get("env") or os.environ)
            for key, value in extra_env.items():
                env.setdefault(key, value)
            kw["env"] = env
            if stderr_path is None:
                return await super()._async_launch_kernel(kernel_cmd, **kw)
            with open(stderr_path, "ab") as fh:
                kw["stderr"] = fh
                return await super()._async_launch_kernel(kernel_cmd, **kw)

    return _BatchKernelManager
