"""Keras callbacks that watch a pretext task while it trains: representation quality and collapse.

Pass them to ``model.fit(..., callbacks=[...])`` or switch them on with a recipe's
``train.monitors`` (see docs/monitors.md).
"""

from kssl.monitors.collapse_monitor import CollapseMonitor
from kssl.monitors.online_probe import OnlineProbe

__all__ = ["CollapseMonitor", "OnlineProbe"]
