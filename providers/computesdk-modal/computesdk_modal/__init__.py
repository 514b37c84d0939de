"""computesdk provider for Modal sandboxes (https://modal.com), driven through the ``modal`` client.

Importing this package does not import ``modal``; the first call that needs Modal does.
"""

from computesdk_modal.adapter import ModalAdapter

__all__ = ["ModalAdapter"]
