"""The sandbox namespaces served by the computesdk daemon (terminals, servers, env, files, ...).

Each namespace class takes one argument: a callable returning the sandbox's current
:class:`~computesdk_core.daemon_client.DaemonClient` (it raises UnsupportedFeatureError when
the provider's sandboxes run no daemon, and reopens a client after ``Sandbox.close()``).
"""
