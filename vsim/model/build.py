"""Wiring a run: an engine, and the controllers a scenario asks for, in a stated order.

The order is part of the model (SimPy breaks ties between events scheduled for the same instant
by the order they were scheduled in), so it is written down here and nowhere else:

1. the engine's state (:class:`~vsim.model.engine.Engine`);
2. the migrator, which the full solve reads for running migrations;
3. the request-level services (their first arrivals are scheduled now);
4. the engine's start: the scenario's lifecycle, the traces at time 0, the first full solve,
   the trace stepper;
   then the deployments (their replicas start at time 0, their load balancers' first arrivals
   are scheduled now);
5. failures, HA and protection, if the scenario has a ``failures`` section (it adds the extra
   CPU and traffic of protection and holds back the admission-control reserve);
6. consolidation, if the scenario has a ``consolidation`` section (its profile may change the
   migration settings, the power tables and the network);
   then the tenants' controller, if the scenario has tenants or attacks (its attacks' first
   launches are scheduled now).

7. the scenario's periodic controllers (``controllers:``), then the user's own controllers
   passed from Python, in the order given.

The run's summary takes the controllers' columns in the order they are attached: failures,
consolidation, tenants, migrations, requests, then the user's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from vsim.model.attacks import Tenants
from vsim.model.consolidation import Consolidator
from vsim.model.contract import Controller
from vsim.model.deployments import Deployments
from vsim.model.engine import Engine
from vsim.model.failures import FailureModel
from vsim.model.migration import Migrator
from vsim.model.periodic import Periodic
from vsim.model.services import Services
from vsim.scenario.schema import Scenario

#: Builds a controller for an engine (and attaches whatever hooks it needs); see
#: :mod:`vsim.model.contract`.
ControllerFactory = Callable[[Engine], Controller]


def build_simulation(scenario: Scenario, controllers: Sequence[ControllerFactory] = ()) -> Engine:
    """An engine for ``scenario`` with every controller it needs, ready to :meth:`~Engine.run`.

    ``controllers``: factories of the user's own controllers, built last (after the scenario's
    own) in the order given; their summary columns come last too.
    """
    engine = Engine(scenario)
    migrator = Migrator(engine)
    services = Services(engine)
    engine.start()
    deployments = Deployments(engine, services) if scenario.deployments else None
    if scenario.failures is not None:
        engine.attach(FailureModel(engine))
    if scenario.consolidation is not None:
        engine.attach(Consolidator(engine, migrator))
    if engine.tenancy.listed:
        engine.attach(Tenants(engine))
    engine.attach(migrator)
    engine.attach(services)
    if deployments is not None:
        engine.attach(deployments)
    for spec in scenario.controllers:
        engine.attach(Periodic(engine, spec))
    for make in controllers:
        engine.attach(make(engine))
    return engine


def controller(engine: Engine, name: str):
    """The attached controller named ``name`` (None if the run has none)."""
    return next((c for c in engine.controllers if c.name == name), None)
