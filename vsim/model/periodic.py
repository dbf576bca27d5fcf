"""A user's periodic controller (``controllers:`` in a scenario), ticking every interval.

The controller object is built once as ``policy(engine, **options)`` and its ``tick(engine)``
runs every ``interval`` seconds, after the engine's own changes of that instant were solved
(like a CloudSim Plus clock-tick listener). A tick that raises stops the run with a
:class:`~vsim.policies.PolicyError` naming the controller and the time.
"""

from __future__ import annotations

from typing import Any

from vsim.policies import PolicyError, call, resolve


class Periodic:
    """The engine-side wrapper of one periodic user controller."""

    def __init__(self, engine: Any, spec: Any):
        self.engine, self.name, self.interval = engine, spec.policy, float(spec.interval)
        factory = resolve("controller", spec.policy, engine.scenario.base_dir)
        if factory is None:
            raise PolicyError(f"controller {spec.policy!r}: not registered and no import path")
        options = dict(spec.options)
        self.inner = call(self.name, "building the controller", lambda: factory(engine, **options))
        if not callable(getattr(self.inner, "tick", None)):
            raise PolicyError(f"controller {spec.policy!r} has no tick(engine) method")
        engine.env.process(self._loop())

    def _loop(self):
        env, duration = self.engine.env, self.engine.scenario.duration
        k = 1
        while k * self.interval < duration:
            yield env.timeout(k * self.interval - env.now)
            yield env.timeout(0)  # after the engine's changes of this instant
            call(self.name, f"ticking at t={env.now:g} s", self.inner.tick, self.engine)
            k += 1

    def summary(self) -> dict:
        summary = getattr(self.inner, "summary", None)
        return dict(call(self.name, "summarizing", summary)) if callable(summary) else {}
