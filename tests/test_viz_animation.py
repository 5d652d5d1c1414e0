"""microlab.viz.animation: messages moving along the topology, frame by frame."""

import pytest

from microlab import Drop, Service, System
from microlab.viz import style
from microlab.viz.animation import message_animation


def one_message(drop=False):
    system = System(latency=1.0)
    system.add(Service("payment"))
    system["payment"].on("Charge", lambda m: None)
    if drop:
        system.network.add_fault(Drop(start=2.0))
    system.inject("payment", "Charge", correlation="c1")
    system.inject("payment", "Charge", correlation="c2", at=2.0)
    system.run()
    return system


def moving(fig):
    return [i for i, t in enumerate(fig.data) if t.legendgroup and t.legendgroup.startswith("msg-")]


def test_a_message_moves_from_sender_to_receiver_across_the_frames():
    fig = message_animation(one_message(), frames=6)
    [idx] = moving(fig)
    assert fig.data[idx].name == "command" and fig.data[idx].marker.color == style.BLUE
    assert len(fig.frames) == 6 and all(list(f.traces) == [idx] for f in fig.frames)
    ys = []
    for frame in fig.frames[:2]:   # the first message flies from t=0 to t=1; a slice is 0.5 s
        [dots] = frame.data
        assert list(dots.x) == pytest.approx([0.0])   # client at the top, payment at the bottom
        ys.append(dots.y[0])
    # Half-way through the first slice it is a quarter of the way down; then three quarters.
    assert ys == pytest.approx([1 - 2 * 0.25, 1 - 2 * 0.75])
    assert list(fig.frames[2].data[0].y) == [None]    # nothing in flight from 1.0 to 1.5 s
    assert "#" in fig.frames[0].data[0].hovertext[0] and "transaction c1" in fig.frames[0].data[0].hovertext[0]


def test_a_dropped_message_stops_half_way_as_an_x():
    fig = message_animation(one_message(drop=True), frames=4)
    dropped = [t for t in fig.data if t.legendgroup == "msg-dropped"][0]
    assert dropped.marker.symbol == "x"
    slot = moving(fig).index(fig.data.index(dropped))
    shown = [list(f.data[slot].y) for f in fig.frames]
    # Sent (and dropped) at t=2.0, the end of the run: in the last slice only, half-way.
    assert shown == [[None], [None], [None], [0.0]]


def test_play_pause_and_one_slider_step_per_frame():
    fig = message_animation(one_message(), frames=5, frame_ms=90)
    [menu] = fig.layout.updatemenus
    assert [b.label for b in menu.buttons] == ["▶ Play", "❚❚ Pause"]
    assert menu.buttons[0].args[1]["frame"]["duration"] == 90
    [slider] = fig.layout.sliders
    assert [tuple(s.args[0]) for s in slider.steps] == [(str(k),) for k in range(5)]
    assert slider.currentvalue.suffix == " s"
    assert [s.label for s in slider.steps][:2] == ["0.3", "0.9"]   # mid-slice times


def test_frames_are_checked_and_figures_are_deterministic():
    with pytest.raises(ValueError, match="frames must be an integer from 2 to 500"):
        message_animation(one_message(), frames=1)
    assert message_animation(one_message()).to_json() == message_animation(one_message()).to_json()
    fig = message_animation(one_message())
    assert fig.layout.title.text and fig.layout.legend.title.text
