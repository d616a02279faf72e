"""The server side of the PBX API (docs/openapi.yaml), whatever PBX is behind it.

Shared by the reference simulator (``axivox_simulator``) and the Asterisk gateway
(``axivox_gateway``): the PBX model and its validation (``pbx``), the REST API and the
event stream (``rest``), the HTTP plumbing (``httpkit``: API key, errors, idempotency,
the request log), the webhook deliveries and the state file (``service``) and the
application that puts them together (``app``). Importing it imports nothing heavy."""
