import pytest

from insights import charts


def test_stacked_bars_scale_to_a_nice_top_and_stack_in_key_order():
    chart = charts.stacked_bars([("a", {"x": 3, "y": 1}), ("b", {"y": 2})], keys=("x", "y"), width=236, height=138)
    # Plot area: 236 - 36 - 8 = 192 wide, 138 - 10 - 28 = 100 high; top value 5 for a maximum of 4.
    assert chart.maximum == 4 and [tick.value for tick in chart.ticks] == [0, 2, 5]
    first, second = chart.bars
    assert first.x == pytest.approx(36 + (96 - 67.2) / 2) and first.width == pytest.approx(67.2)
    assert [(s.key, s.value, s.y, s.height) for s in first.segments] == [("x", 3, 50.0, 60.0), ("y", 1, 30.0, 20.0)]
    assert (first.y, first.height) == (30.0, 80.0)
    assert [(s.key, s.y, s.height) for s in second.segments] == [("y", 70.0, 40.0)]


def test_an_empty_chart_has_no_segments():
    chart = charts.simple_bars([("a", 0), ("b", 0)])
    assert chart.empty and all(bar.segments == [] for bar in chart.bars)


def test_only_some_labels_are_shown_and_always_the_last():
    chart = charts.simple_bars([(str(i), i) for i in range(30)], max_labels=10)
    labelled = [bar.label for bar in chart.bars if bar.labelled]
    assert labelled[-1] == "29" and len(labelled) == 10
