"""computesdk provider for E2B: the control plane and each sandbox's envd, over plain HTTP."""

from computesdk_e2b.handle import E2BSandbox

__all__ = ["E2BSandbox"]
