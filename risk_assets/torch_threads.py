"""A scope that limits torch's CPU threads."""

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def torch_threads(n_threads: int) -> Iterator[None]:
    """Limit torch to ``n_threads`` CPU threads inside the block, then restore the setting.

    The networks in this project are small, so one thread is usually faster than two
    competing ones: on a loaded 2-core machine one LSTM series took 3 s with one thread
    and 83 s with two.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
