"""The machine's gRPC ceiling: a bare grpc.aio server that answers every unary method with
the request's own bytes, nothing parsed, run as `python -m bench.ceiling_echo PORT`.

`make bench-ceiling` starts as many of these on one SO_REUSEPORT port as the registry has
workers, with the registry's server options, uvloop and heap settling, so what the ratio
shows is what the registry adds per call, not what grpc.aio costs."""

from __future__ import annotations

import asyncio
import sys

import grpc
import uvloop


async def _echo(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
    return request


class _EchoEveryMethod(grpc.GenericRpcHandler):
    def service(
        self, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler[bytes, bytes]:
        return grpc.unary_unary_rpc_method_handler(_echo)


async def serve(port: int) -> None:
    from server.app import _server_options
    from server.worker import settle_heap

    server = grpc.aio.server(options=_server_options())
    server.add_generic_rpc_handlers((_EchoEveryMethod(),))
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    settle_heap()
    await asyncio.Event().wait()


if __name__ == "__main__":
    uvloop.run(serve(int(sys.argv[1])))
