"""computesdk provider for Blaxel sandboxes (https://blaxel.ai): the control plane and each sandbox's own API."""

from computesdk_blaxel.api import BlaxelAPI

__all__ = ["BlaxelAPI"]
