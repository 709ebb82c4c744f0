"""A proxy route for tests that check calls carry the account's route to the transport."""

from collections.abc import Collection

from aigateway.domain.proxies import Route, parse_proxy_url

VIA = Route(7, parse_proxy_url("http://gw:s3cret@127.0.0.1:3128"))


class CallsOnly:
    """For scripted transports that stand in for the chat and call paths only: the proxy
    health checks (`probe`, `retire`) are not theirs to answer."""

    async def probe(self, route: Route, url: str, timeout_s: float) -> int:
        raise AssertionError("this scripted transport is not probed")

    async def retire(self, keep: Collection[Route]) -> None:
        return None
