"""`dermnet._core.progress`: the one progress style of the command line."""

import io

import pytest

from dermnet._core.progress import Progress, format_duration


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0:00"), (7.4, "0:07"), (65, "1:05"), (3725, "1:02:05"), (float("inf"), "?:??")],
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_line_shows_label_bar_count_values_rate_and_eta():
    clock = FakeClock()
    bar = Progress(200, label="epoch 3/10", unit="img", items_per_step=2, clock=clock, width=10)
    clock.now = 10.0
    bar.done = 120
    bar.values["loss"] = 0.5123
    # 120 steps of 2 images in 10 s = 24 img/s; 80 steps left at 12 steps/s = 7 s
    assert bar.line() == "epoch 3/10  [######----] 120/200  loss 0.512  24.0 img/s  ETA 0:07"
    bar.done = 200
    assert bar.line().endswith("[##########] 200/200  loss 0.512  40.0 img/s  0:10")


def test_unknown_total_shows_a_count_without_bar_or_eta():
    clock = FakeClock()
    bar = Progress(None, label="predict", unit="img", clock=clock)
    clock.now = 2.0
    bar.done = 10
    assert bar.line() == "predict  10  5.0 img/s"


def test_non_tty_writes_a_line_every_interval_plus_the_final_line():
    clock, stream = FakeClock(), io.StringIO()
    bar = Progress(1000, label="predict", stream=stream, clock=clock)  # interval 10 s
    assert bar.interval == 10.0
    for _ in range(1000):
        clock.now += 0.1  # 100 s in all
        bar.update(1, loss=1.0)
    bar.close()
    lines = stream.getvalue().splitlines()
    assert 9 <= len(lines) <= 11  # one per 10 s, plus the final line
    assert "\r" not in stream.getvalue()
    assert lines[-1].startswith("predict  [####################] 1000/1000  loss 1.000")


def test_a_short_loop_off_a_terminal_writes_only_the_final_line():
    stream = io.StringIO()
    with Progress(50, label="explain", stream=stream) as bar:
        for _ in range(50):
            bar.update()
    assert stream.getvalue().count("\n") == 1
    assert stream.getvalue().startswith("explain  [####################] 50/50")


def test_tty_redraws_one_line_and_the_final_message_replaces_it():
    clock, stream = FakeClock(), FakeTTY()
    bar = Progress(4, label="epoch 1/1", stream=stream, clock=clock)
    for _ in range(4):
        clock.now += 1.0
        bar.update(1, loss=0.25)
    bar.close("epoch 1/1  loss 0.2500  4.0s")
    text = stream.getvalue()
    assert text.count("\r") == 5  # four redraws and the final line
    assert text.count("\n") == 1
    assert text.endswith("\n")
    final = text.rsplit("\r", 1)[1]
    assert final.startswith("epoch 1/1  loss 0.2500  4.0s")
    assert len(final.rstrip("\n")) >= len(text.split("\r")[-2].rstrip())  # covers the bar


def test_disabled_and_closed_bars_write_nothing_more():
    stream = io.StringIO()
    bar = Progress(3, stream=stream, enabled=False)
    bar.update(3)
    bar.close()
    assert stream.getvalue() == ""
    live = Progress(3, stream=stream)
    live.close()
    live.close()
    assert stream.getvalue().count("\n") == 1


def test_write_line_erases_a_bar_being_drawn_on_a_terminal():
    from dermnet._core.progress import write_line

    clock, tty, out = FakeClock(), FakeTTY(), io.StringIO()
    bar = Progress(10, label="epoch 1/2", stream=tty, clock=clock)
    clock.now = 1.0
    bar.update(5)
    drawn = tty.getvalue()
    write_line("epoch 1/2  loss 0.5000", out)
    assert out.getvalue() == "epoch 1/2  loss 0.5000\n"
    erased = tty.getvalue()[len(drawn) :]
    assert erased == "\r" + " " * (len(drawn) - 1) + "\r"
    bar.close(clear=True)  # nothing left to erase
    assert tty.getvalue() == drawn + erased
