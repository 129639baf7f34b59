"""The scenario tests run the real operator on the fixtures of ``tests/operator``.

``licensing`` (one namespace, one simulator, the operator running) and its companions come from
``licensing_env``; importing them here makes them fixtures of every scenario module.
"""

from __future__ import annotations

from licensing_env import (  # noqa: F401 - pytest finds fixtures by their names in conftest
    licensing,
    licensing_world,
    smartlicensing_crds,
)
