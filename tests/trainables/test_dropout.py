"""The mlp's dropout: inverted dropout at the asked rate, identical masks in a trial and a bundle."""

from __future__ import annotations

import pytest
import torch
from scipy import stats

from caviar.trainables.dropout import Dropout, keep_mask


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
def test_drops_at_the_asked_rate_and_keeps_the_expectation(rate: float) -> None:
    torch.manual_seed(0)
    layer = Dropout(rate).train()
    out = layer(torch.ones(200, 100))
    dropped = int((out == 0).sum())
    assert stats.binomtest(dropped, out.numel(), rate).pvalue > 1e-3
    assert torch.allclose(out[out != 0], torch.tensor(1 / (1 - rate)))


def test_is_the_identity_in_eval_mode_and_at_rate_0() -> None:
    x = torch.randn(8, 4)
    assert torch.equal(Dropout(0.5).eval()(x), x)
    assert torch.equal(Dropout(0.0).train()(x), x)


def test_a_per_member_keep_gives_the_same_masks_as_each_members_float() -> None:
    rates = [0.1, 0.25, 0.5]
    noise = torch.rand(len(rates), 16, 8, generator=torch.Generator().manual_seed(1))
    keep = torch.tensor([1 - r for r in rates], dtype=torch.float64).float().view(-1, 1, 1)
    stacked = keep_mask(noise.clone(), keep)
    for k, rate in enumerate(rates):
        assert torch.equal(stacked[k], keep_mask(noise[k].clone(), 1 - rate))


@pytest.mark.parametrize("rate", [-0.1, 1.0])
def test_refuses_a_rate_outside_0_to_1(rate: float) -> None:
    with pytest.raises(ValueError, match="dropout: must be in"):
        Dropout(rate)
