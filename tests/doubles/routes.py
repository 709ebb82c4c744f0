"""A proxy route for tests that check calls carry the account's route to the transport."""

from aigateway.domain.proxies import Route, parse_proxy_url

VIA = Route(7, parse_proxy_url("http://gw:s3cret@127.0.0.1:3128"))
