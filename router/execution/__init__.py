"""Executing a decision: fallback chain, retry policy, breakers, balancer, deployments, streams."""

from router.execution.balancer import Balancer
from router.execution.breakers import BreakerRegistry, Breakers, BreakerState
from router.execution.calls import StreamStart, complete_call, open_stream
from router.execution.deployments import ProviderSet, build_providers
from router.execution.fallback import Executed, FallbackChain
from router.execution.redis_breakers import RedisBreakers
from router.execution.streams import StreamSession, completion_stub

__all__ = [
    "Balancer",
    "BreakerRegistry",
    "BreakerState",
    "Breakers",
    "Executed",
    "FallbackChain",
    "ProviderSet",
    "RedisBreakers",
    "StreamSession",
    "StreamStart",
    "build_providers",
    "complete_call",
    "completion_stub",
    "open_stream",
]
