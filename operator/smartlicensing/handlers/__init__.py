"""kopf wiring only: decorators, settings, and turning reconcile results into patches.

Importing this package registers the operator's handlers in kopf's default registry (with
settings from the ``SMARTLICENSING_*`` environment), so ``kopf run -m smartlicensing.handlers``
and ``kopf.testing.KopfRunner`` work as they do for any kopf operator. Embedders use
:func:`~smartlicensing.handlers.operator.run_operator` instead, with their own settings and clock.

Modules: ``operator`` (start-up, kopf settings, ways to run), ``accounts`` and ``registrations``
(the decorators of each kind), ``registering`` (the calls of a registration pass), ``runtime``
(what the handlers share), ``status`` (status patches and Events), ``timetable`` (reading
what is due), ``failures`` (client errors as condition reasons), ``census`` (the indexes the
object gauges are counted from).
"""

from smartlicensing.handlers.operator import (
    OperatorThread,
    configure,
    install_default,
    run_operator,
    start_operator_thread,
)

install_default()

__all__ = ["OperatorThread", "configure", "run_operator", "start_operator_thread"]
