import subprocess
import sys

import torch

from genforge.core.seed import seed_everything


def test_seed_everything_asks_for_deterministic_kernels_without_importing_inductor():
    code = (
        "import sys, torch\n"
        "from genforge.core.seed import seed_everything\n"
        "seed_everything(3)\n"
        "print(torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(),"
        " 'torch._inductor.config' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "True", "False"]


def test_seed_everything_sets_inductors_flag_when_inductor_is_loaded():
    import torch._inductor.config as inductor_config

    inductor_config.deterministic = False
    seed_everything(3)
    assert inductor_config.deterministic is True and torch.are_deterministic_algorithms_enabled()
    a = torch.rand(2)
    seed_everything(3)
    assert torch.equal(torch.rand(2), a)
