"""The API's message modules, for types and enums: `pb.resources.AGENT_STATUS_ONLINE`."""

from agentregistry_client._proto import attestation_service_pb2 as attestations
from agentregistry_client._proto import auth_service_pb2 as auth
from agentregistry_client._proto import presence_service_pb2 as presence
from agentregistry_client._proto import registry_service_pb2 as registry
from agentregistry_client._proto import resources_pb2 as resources
from agentregistry_client._proto import search_service_pb2 as search
from agentregistry_client._proto import webhook_service_pb2 as webhooks

__all__ = ["attestations", "auth", "presence", "registry", "resources", "search", "webhooks"]
