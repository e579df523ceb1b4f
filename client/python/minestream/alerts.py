"""Dependence alert rules for create_session (README "Dependence alerts")."""

from mine.v1 import mine_pb2 as pb


def alert_rules(above=None, below=None, hysteresis=0.0, change_k=None, reference=0):
    """A mine_pb2.AlertRules: a threshold rule firing when the estimate goes
    `above` or `below` a line in nats (resolving once it is `hysteresis` nats
    back), and/or a change rule firing when it moves more than `change_k`
    standard errors from its settled reference (`reference` estimates, 0 = 5).
    The server checks the ranges (INVALID_ARGUMENT naming the field)."""
    if above is not None and below is not None:
        raise ValueError("alert_rules: give above or below, not both")
    rules = pb.AlertRules()
    if above is not None or below is not None:
        rules.threshold.direction = pb.ABOVE if above is not None else pb.BELOW
        rules.threshold.threshold_nats = above if above is not None else below
        rules.threshold.hysteresis_nats = hysteresis
    elif hysteresis:
        raise ValueError("alert_rules: hysteresis needs above or below")
    if change_k is not None:
        rules.change.k = change_k
        rules.change.reference_estimates = reference
    return rules
