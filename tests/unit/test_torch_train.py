"""Unit tests of the shared training pieces: device choice, pinball loss, strided windows,
and the light model listing that must not import torch."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from cryptodesk.errors import ModelError


def test_listing_does_not_import_torch() -> None:
    code = (
        "import sys, cryptodesk\n"
        "from cryptodesk.models.registry import available_models, config_class\n"
        "names = available_models()\n"
        "assert {'lstm', 'gru', 'cnn', 'cnn_gru', 'transformer'} <= set(names), names\n"
        "for name in names:\n"
        "    config_class(name)().to_dict()  # every form drawable without the libraries\n"
        "import cryptodesk.models.torch_configs, cryptodesk.models.epochs\n"
        "assert 'torch' not in sys.modules and 'lightgbm' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


torch = pytest.importorskip("torch")

from cryptodesk.models import torch_train as tt  # noqa: E402
from cryptodesk.models.torch_configs import TorchConfig, TransformerConfig  # noqa: E402


def test_choose_device() -> None:
    assert tt.choose_device("cpu").type == "cpu"
    auto = tt.choose_device("auto").type
    assert auto == ("cuda" if torch.cuda.is_available() else auto)
    with pytest.raises(ModelError):
        tt.choose_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ModelError, match="no CUDA"):
            tt.choose_device("cuda")


def test_pinball_loss_values_and_minimiser() -> None:
    q = torch.tensor([0.1, 0.5, 0.9])
    pred = torch.zeros(1, 1, 3)
    target = torch.ones(1, 1)
    # error +1 for each quantile: losses q * 1 -> mean 0.5
    assert tt.pinball_loss(pred, target, q).item() == pytest.approx(0.5)
    # the loss over a sample is minimised at the sample's quantile
    y = torch.arange(101, dtype=torch.float32).view(-1, 1)
    grid = torch.arange(101, dtype=torch.float32)
    losses = [tt.pinball_loss(torch.full((101, 1, 1), float(g)), y, torch.tensor([0.9])).item()
              for g in grid]
    assert int(np.argmin(losses)) in (89, 90, 91)


def test_window_source_is_a_strided_view() -> None:
    x = np.arange(40, dtype=np.float32).reshape(20, 2)
    y = np.arange(20, dtype=np.float32).reshape(20, 1)
    src = tt.WindowSource(x, y, 5, torch.device("cpu"))
    assert src.windows.shape == (16, 5, 2)
    # no materialised (n, lookback, f) copy: the windows share the input tensor's storage
    assert src.windows.untyped_storage().data_ptr() == src.x.untyped_storage().data_ptr()
    assert src.windows.untyped_storage().nbytes() == x.nbytes
    xb, yb = src.batch(torch.tensor([0, 3]))
    assert torch.equal(xb[1], torch.from_numpy(x[3:8]))
    assert yb[:, 0].tolist() == [4.0, 7.0]  # targets of the rows the windows end at


def test_configs_validate_and_round_trip() -> None:
    from cryptodesk.models.registry import config_class

    for name in ("lstm", "gru", "cnn", "cnn_gru", "transformer"):
        cls = config_class(name)
        assert issubclass(cls, TorchConfig)
        cfg = cls()
        assert cls.from_dict(cfg.to_dict()) == cfg
        names = {p.name for p in cls.params()}
        assert {"lookback", "dropout", "learning_rate", "batch_size", "max_epochs",
                "patience", "loss", "target"} <= names
    lstm = config_class("lstm")()
    assert lstm.hidden == (64, 32) and lstm.dropout == 0.2
    with pytest.raises(ModelError):
        TransformerConfig(d_model=30, heads=4)
    with pytest.raises(ModelError):
        config_class("gru").from_dict({"loss": "mae"})
