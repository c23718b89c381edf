"""Ray's scheduler defaults reach the resolved spec, read from Ray's own signatures."""

from __future__ import annotations

import inspect
from pathlib import Path

import yaml
from ray.tune.schedulers import (
    AsyncHyperBandScheduler,
    HyperBandScheduler,
    MedianStoppingRule,
    PopulationBasedTraining,
)

from caviar.spec import parse_spec
from caviar.spec.model import SCHEDULERS, option_kinds
from caviar.tune.resolved import ray_defaults, resolve_scheduler, spec_yaml
from tests.conftest import small_spec

RAY = {
    "asha": AsyncHyperBandScheduler,
    "hyperband": HyperBandScheduler,
    "median": MedianStoppingRule,
    "pbt": PopulationBasedTraining,
}


def test_every_declared_scheduler_option_is_a_parameter_of_rays_class() -> None:
    for name, cls in SCHEDULERS.items():
        if name == "fifo":
            assert option_kinds(cls) == {}
            continue
        parameters = inspect.signature(RAY[name]).parameters
        assert set(option_kinds(cls)) <= set(parameters), name


def test_ray_defaults_come_in_the_types_the_spec_checks() -> None:
    asha = ray_defaults("asha")
    assert asha["reduction_factor"] == 4 and asha["grace_period"] == 1
    assert isinstance(ray_defaults("median")["min_time_slice"], int)  # Ray writes 0 as an int
    assert ray_defaults("fifo") == {}


def test_the_resolved_scheduler_fills_rays_defaults_under_caviars_and_the_given(
    tmp_path: Path,
) -> None:
    asha = resolve_scheduler("asha", max_t=12)
    assert asha["name"] == "asha" and asha["max_t"] == 12
    assert asha["reduction_factor"] == ray_defaults("asha")["reduction_factor"]
    median = resolve_scheduler({"name": "median", "hard_stop": False})
    assert median["grace_period"] == 1 and median["hard_stop"] is False
    spec = parse_spec(small_spec(tmp_path, scheduler="asha"))
    written = yaml.safe_load(spec_yaml(spec))
    assert written["scheduler"] == resolve_scheduler("asha", max_t=spec.max_iterations)
    again = parse_spec(written)  # the resolved spec reads back as the same sweep
    assert spec_yaml(again) == spec_yaml(spec)
    assert again.scheduler.options == {k: v for k, v in written["scheduler"].items() if k != "name"}
