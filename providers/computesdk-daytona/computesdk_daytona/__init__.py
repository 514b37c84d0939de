"""computesdk provider for Daytona: sandboxes through Daytona's control plane and toolbox APIs."""

from computesdk_daytona.handle import DaytonaSandbox, PreviewLink

__all__ = ["DaytonaSandbox", "PreviewLink"]
