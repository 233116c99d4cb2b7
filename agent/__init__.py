"""The editing-aware agent: turn understanding, the router, the SDK facade, LangChain adapters."""

from editmind.agent.agent import AgentConfig, AgentError, EditingAgent, Reply, needs_multi_hop
from editmind.agent.router import ConsolidationResult, PendingFact, Route, Router, RouterConfig
from editmind.agent.turns import TURN_TYPES, Correction, Statement, Turn, classify_turn, extract_correction

__all__ = [
    "AgentConfig", "AgentError", "ConsolidationResult", "Correction", "EditingAgent", "PendingFact", "Reply", "Route",
    "Router", "RouterConfig", "Statement", "TURN_TYPES", "Turn", "classify_turn", "extract_correction", "needs_multi_hop",
]
