"""FarmBench: reproducible instances, every method feasible, bounds below every plan."""

from __future__ import annotations

from scheduler.farmbench.generator import Spec, generate
from scheduler.farmbench.runner import CLASSES, run_class


def test_the_same_seed_generates_the_same_instance() -> None:
    spec = Spec(200, 3, 2, seed=9)
    assert generate(spec).model_dump_json() == generate(spec).model_dump_json()
    assert generate(spec).model_dump_json() != generate(Spec(200, 3, 2, seed=10)).model_dump_json()


def test_generated_farms_follow_the_classes_shape() -> None:
    farm = generate(Spec(300, 4, 2, seed=1))
    assert len(farm.sites) == 4 and len(farm.parts) == 300
    per_site = [sum(p.site == s.id for p in farm.printers) for s in farm.sites]
    assert all(4 <= n <= 16 for n in per_site)
    assert {p.bed.width_mm for p in farm.printers} <= {180, 220, 256, 350}
    assert any(p.enclosed for p in farm.printers)


def test_every_method_gives_a_feasible_plan_no_better_than_the_bounds() -> None:
    rows = run_class(CLASSES[0])
    assert {row.method for row in rows} == {"makerfarm", "ffd", "fifo"}
    for row in rows:
        assert row.violations == 0
        assert row.placed == row.parts
        assert row.makespan_ratio >= 1.0 - 1e-9
        assert row.ship_ratio >= 1.0 - 1e-9
