"""computesdk provider for Vercel Sandbox (https://vercel.com/docs/vercel-sandbox), driven through Vercel's REST API."""

from computesdk_vercel.handle import VercelSandbox

__all__ = ["VercelSandbox"]
