"""A fixture shared by the language tests: tiny models run on one torch thread.

Tiny models are faster on one thread than on two, and a test on one thread does not stall when other
jobs load the machine's cores. A test module opts in with
``pytestmark = pytest.mark.usefixtures("one_torch_thread")`` after importing the fixture.
"""

import pytest
import torch


@pytest.fixture()
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
